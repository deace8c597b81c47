"""Rate-limit stages: per client IP before parsing, per principal and operation after
authorization. Over the limit: 429 (or 500 with --strict-wsi-faults) and Client.RateLimited."""

from __future__ import annotations

import ipaddress
import time

from limits import RateLimitItem

from soap_service import faults
from soap_service.core.exchange import Exchange
from soap_service.core.stage_timing import RATE_LIMIT
from soap_service.faults import ServiceFault
from soap_service.ratelimit.backend import LimitBackend
from soap_service.ratelimit.counters import Decision
from soap_service.ratelimit.rules import RuleSet

RATELIMIT_HEADERS = ("RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset")
_HEADER_NAMES = frozenset(name.lower() for name in RATELIMIT_HEADERS)
NOTE_KEY = "ratelimit"  # exchange.notes[NOTE_KEY]: the Decision behind the headers sent


def client_key(peer_ip: str) -> str:
    """The IP limit's key: the address for IPv4, the /64 for IPv6 (one host owns a /64)."""
    if ":" not in peer_ip:
        return peer_ip
    try:
        network = ipaddress.IPv6Network(f"{peer_ip.split('%', 1)[0]}/64", strict=False)
    except ValueError:
        return peer_ip
    mapped = network.network_address.ipv4_mapped
    return str(mapped) if mapped is not None else str(network)


def set_quota_headers(exchange: Exchange, decision: Decision, now: float) -> None:
    """Advertise the tightest quota seen so far: one set of RateLimit-* headers per reply.

    Both limits (IP, principal) pass through here; the one with fewer requests left wins, so a
    client pacing itself on these headers stays under every limit."""
    previous = exchange.notes.get(NOTE_KEY)
    if previous is not None:
        if previous.remaining <= decision.remaining and decision.allowed:
            return
        exchange.response_headers[:] = [
            h for h in exchange.response_headers if h[0].lower() not in _HEADER_NAMES
        ]
    exchange.notes[NOTE_KEY] = decision
    exchange.response_headers.extend((
        ("RateLimit-Limit", str(decision.limit)),
        ("RateLimit-Remaining", str(decision.remaining)),
        ("RateLimit-Reset", str(decision.reset_after(now))),
    ))


class _Limiter:
    """What both stages share: counting through the backend and building the refusal."""

    timing_stage = RATE_LIMIT  # --stage-timing (core/stage_timing.py)

    def __init__(self, backend: LimitBackend, *, strict_wsi_faults: bool) -> None:
        self._backend = backend
        self._status = 500 if strict_wsi_faults else 429

    async def _check(
        self, exchange: Exchange, item: RateLimitItem, identifiers: tuple[str, ...], what: str,
        scope: str,
    ) -> None:
        decision = await self._backend.hit(item, *identifiers)
        now = time.time()
        set_quota_headers(exchange, decision, now)
        if decision.allowed:
            return
        raise ServiceFault(
            faults.CLIENT_RATE_LIMITED,
            "Too many requests; retry after the number of seconds in retryAfterSeconds.",
            http_status=self._status,
            retry_after=decision.reset_after(now),
            reason=f"{what} limit {item} exceeded"
            + ("" if decision.shared else " (per-process)"),
            label=scope,
        )


class IpRateLimit(_Limiter):
    """Per client IP, before parsing and authentication: floods are refused before XML work."""

    def __init__(
        self, backend: LimitBackend, limit: RateLimitItem, *, strict_wsi_faults: bool = False
    ) -> None:
        super().__init__(backend, strict_wsi_faults=strict_wsi_faults)
        self._item = limit

    async def __call__(self, exchange: Exchange) -> None:
        """Count the request against its client address."""
        await self._check(exchange, self._item, ("ip", client_key(exchange.transport.peer_ip)),
                          "ip", "ip")


class PrincipalRateLimit(_Limiter):
    """Per principal and operation, after authorization, using the most specific rule."""

    def __init__(
        self, backend: LimitBackend, rules: RuleSet, *, strict_wsi_faults: bool = False
    ) -> None:
        super().__init__(backend, strict_wsi_faults=strict_wsi_faults)
        self._rules = rules

    async def __call__(self, exchange: Exchange) -> None:
        """Count the request against the caller's bucket for this operation."""
        principal = exchange.principal
        if principal is None or exchange.operation is None:
            return  # anonymous access (auth disabled) is covered by the IP limit
        rule = self._rules.rule_for(principal.name, principal.role, exchange.operation)
        if rule is None or rule.limit is None:
            return
        # Keyed by the rule's scope: a rule without an operation is one bucket for all of them.
        await self._check(exchange, rule.limit, ("principal", principal.name, rule.key),
                          f"principal ({rule.text})", "principal")
