"""The rate-limit rule notation: `SUBJECT[:OPERATION]=LIMIT`, and finding the rule for a caller.

SUBJECT is a role (`reader`, `operator`, `admin`), `account:NAME` for one account, or `*` for
any authenticated principal. OPERATION is a contract operation (`GetTravelTimes`); without it
the rule covers every operation of that subject with one shared counter. LIMIT is one limit in
the `limits` notation (`600/minute`, `10/second`, `5 per 2 seconds`) or `unlimited`.

Exactly one rule applies to a request. The operator's rules (from flags, HIGHWAY_RATE_LIMIT or
the config file) come first: of those that match, the most specific one, in this order
    account:NAME:OP > account:NAME > ROLE:OP > ROLE > *:OP > *
so among the operator's own rules one for an account can raise or lower its role's limit.
The built-in defaults only fill requests that no operator rule matches: an operator's
`reader=40/minute` limits every reader operation, and the default
`reader:GetTravelTimes=600/minute`, though more specific, no longer applies to readers.
Counters are per principal: a role rule gives every principal of that role its own bucket.
"""

from __future__ import annotations

import dataclasses
import re

from limits import RateLimitItem, parse_many

from soap_service.core.principal import ROLES

UNLIMITED = "unlimited"
ANY = "*"
CONFIGURED = "configured"
DEFAULT = "default"

# Defaults from issue #5: readers 600/minute for GetTravelTimes, operators 60 batches/minute;
# everything else an authenticated principal does shares a generous per-principal bucket.
DEFAULT_RULES: tuple[str, ...] = (
    "reader:GetTravelTimes=600/minute",
    "operator:ReportObservations=60/minute",
    "*=1200/minute",
)
DEFAULT_IP_LIMIT = "1200/minute"

_OPERATION_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,63}$")
_ACCOUNT_RE = re.compile(r"^[^\s:=]{1,128}$")


def parse_limit(text: str) -> RateLimitItem | None:
    """`600/minute` -> a limits item; `unlimited` -> None. Raises ValueError with a clear text."""
    cleaned = text.strip()
    if cleaned.lower() in (UNLIMITED, "none", "off"):
        return None
    try:
        items = parse_many(cleaned)
    except ValueError as exc:
        raise ValueError(
            f"{cleaned!r} is not a limit: use N/UNIT like 600/minute or 10/second, "
            "or 'unlimited'"
        ) from exc
    if len(items) != 1:
        raise ValueError(f"{cleaned!r}: give one limit per rule")
    if items[0].amount < 1:
        raise ValueError(f"{cleaned!r}: the amount must be at least 1")
    return items[0]


@dataclasses.dataclass(frozen=True)
class Rule:
    """One configured limit: who (role, account or any), which operation (or all), how much."""

    subject: str  # a role, "account:NAME" or "*"
    operation: str | None
    limit: RateLimitItem | None  # None: unlimited
    text: str  # as written, for logs and messages
    origin: str = CONFIGURED  # CONFIGURED or DEFAULT: who wrote it, for `config show`

    @property
    def key(self) -> str:
        """Identifies the rule's scope; two rules with one key replace each other."""
        return f"{self.subject}:{self.operation}" if self.operation else self.subject


def parse_rule(text: str) -> Rule:
    """Parse `SUBJECT[:OPERATION]=LIMIT`; raises ValueError naming what is wrong."""
    scope, sep, limit_text = text.partition("=")
    scope = scope.strip()
    if not sep or not scope:
        raise ValueError(f"{text!r}: expected SUBJECT[:OPERATION]=LIMIT, e.g. reader=600/minute")
    operation: str | None = None
    if scope.startswith("account:"):
        rest = scope[len("account:"):]
        name, _, op = rest.partition(":")
        if not _ACCOUNT_RE.match(name):
            raise ValueError(f"{text!r}: account name missing or malformed")
        subject = f"account:{name}"
        operation = op or None
    else:
        subject, _, op = scope.partition(":")
        if subject != ANY and subject not in ROLES:
            raise ValueError(
                f"{text!r}: unknown subject {subject!r} (roles: {', '.join(ROLES)}; "
                "or account:NAME, or *)"
            )
        operation = op or None
    if operation is not None and not _OPERATION_RE.match(operation):
        raise ValueError(f"{text!r}: malformed operation name {operation!r}")
    return Rule(subject, operation, parse_limit(limit_text), text.strip())


def _precedence(account: str, role: str, operation: str) -> tuple[str, ...]:
    """The rule keys that can match a request, most specific first."""
    return (
        f"account:{account}:{operation}",
        f"account:{account}",
        f"{role}:{operation}",
        role,
        f"{ANY}:{operation}",
        ANY,
    )


class RuleSet:
    """The operator's rules and the built-in defaults, kept apart, and the lookup per request."""

    def __init__(self, configured: tuple[Rule, ...], defaults: tuple[Rule, ...] = ()) -> None:
        # Later rules replace earlier ones of the same scope (a flag repeated, a file then a flag).
        self._configured: dict[str, Rule] = {rule.key: rule for rule in configured}
        self._defaults: dict[str, Rule] = {rule.key: rule for rule in defaults}
        self._cache: dict[tuple[str, str, str], Rule | None] = {}

    @classmethod
    def with_defaults(cls, configured: tuple[Rule, ...]) -> RuleSet:
        """The operator's rules, with the built-in defaults for what none of them matches."""
        defaults = tuple(
            dataclasses.replace(parse_rule(text), origin=DEFAULT) for text in DEFAULT_RULES
        )
        return cls(tuple(dataclasses.replace(r, origin=CONFIGURED) for r in configured), defaults)

    @property
    def rules(self) -> tuple[Rule, ...]:
        """Every rule, the operator's first, then the defaults."""
        return tuple(self._configured.values()) + tuple(self._defaults.values())

    @property
    def account_names(self) -> tuple[str, ...]:
        """Accounts the operator wrote rules for (each may differ from its role's limits)."""
        names = {r.subject.split(":", 1)[1] for r in self._configured.values()
                 if r.subject.startswith("account:")}
        return tuple(sorted(names))

    def rule_for(self, account: str, role: str, operation: str) -> Rule | None:
        """The rule that limits this caller's operation; None when nothing limits it."""
        cache_key = (account, role, operation)
        try:
            return self._cache[cache_key]
        except KeyError:
            pass
        keys = _precedence(account, role, operation)
        found = next((self._configured[k] for k in keys if k in self._configured), None)
        if found is None:
            found = next((self._defaults[k] for k in keys if k in self._defaults), None)
        # Accounts and operations are finite (the account table, the contract), so this cache
        # stays small; bounded anyway in case of a very large account table.
        if len(self._cache) < 100_000:
            self._cache[cache_key] = found
        return found

    def table(self, operations: tuple[str, ...]) -> list[tuple[str, str, Rule | None]]:
        """(caller, operation, rule) for every role and every account the operator named.

        An account row whose operation falls through to its role's rule has rule None there
        (the account's role is in the store, not in the configuration)."""
        rows: list[tuple[str, str, Rule | None]] = []
        for role in ROLES:
            rows.extend((role, op, self.rule_for("", role, op)) for op in operations)
        for name in self.account_names:
            for op in operations:
                rule = self.rule_for(name, "", op)
                own = rule is not None and rule.subject == f"account:{name}"
                rows.append((f"account:{name}", op, rule if own else None))
        return rows
