"""The rate-limit rule notation: `SUBJECT[:OPERATION]=LIMIT`, and finding the rule for a caller.

SUBJECT is a role (`reader`, `operator`, `admin`), `account:NAME` for one account, or `*` for
any authenticated principal. OPERATION is a contract operation (`GetTravelTimes`); without it
the rule covers every operation of that subject with one shared counter. LIMIT is one limit in
the `limits` notation (`600/minute`, `10/second`, `5 per 2 seconds`) or `unlimited`.

Exactly one rule applies to a request: the most specific one, in this order
    account:NAME:OP > account:NAME > ROLE:OP > ROLE > *:OP > *
so a rule for one account can raise or lower its role's limit. Counters are per principal:
a role rule gives every principal of that role its own bucket of that size.
"""

from __future__ import annotations

import dataclasses
import re

from limits import RateLimitItem, parse_many

from soap_service.core.principal import ROLES

UNLIMITED = "unlimited"
ANY = "*"

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


class RuleSet:
    """The effective rules (defaults overridden by configured ones) and the lookup per request."""

    def __init__(self, rules: tuple[Rule, ...]) -> None:
        self._by_key: dict[str, Rule] = {}
        for rule in rules:
            self._by_key[rule.key] = rule  # later rules replace earlier ones of the same scope
        self._cache: dict[tuple[str, str, str], Rule | None] = {}

    @classmethod
    def with_defaults(cls, configured: tuple[Rule, ...]) -> RuleSet:
        """Defaults first, then configured rules on top (same scope replaces the default)."""
        return cls(tuple(parse_rule(text) for text in DEFAULT_RULES) + configured)

    @property
    def rules(self) -> tuple[Rule, ...]:
        """Every effective rule."""
        return tuple(self._by_key.values())

    def rule_for(self, account: str, role: str, operation: str) -> Rule | None:
        """The most specific rule for this caller and operation; None when nothing limits it."""
        cache_key = (account, role, operation)
        try:
            return self._cache[cache_key]
        except KeyError:
            pass
        found: Rule | None = None
        for key in (
            f"account:{account}:{operation}",
            f"account:{account}",
            f"{role}:{operation}",
            role,
            f"{ANY}:{operation}",
            ANY,
        ):
            found = self._by_key.get(key)
            if found is not None:
                break
        # Accounts and operations are finite (the account table, the contract), so this cache
        # stays small; bounded anyway in case of a very large account table.
        if len(self._cache) < 100_000:
            self._cache[cache_key] = found
        return found
