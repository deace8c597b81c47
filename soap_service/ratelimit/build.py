"""Builds the rate-limit and load-shedding parts from settings, for web/assembly.py to list."""

from __future__ import annotations

import dataclasses

from soap_service.ratelimit.backend import LimitBackend
from soap_service.ratelimit.inflight import InFlightLimit, InFlightRelease
from soap_service.ratelimit.rules import RuleSet, parse_limit, parse_rule
from soap_service.ratelimit.settings import RateLimitSettings
from soap_service.ratelimit.stages import IpRateLimit, PrincipalRateLimit
from soap_service.state.shared import SharedState


@dataclasses.dataclass
class RateLimiting:
    """The stages and observer in request-path order; assembly decides where each goes."""

    in_flight: InFlightLimit
    in_flight_release: InFlightRelease
    ip_limit: IpRateLimit | None  # None when --ip-rate-limit unlimited
    principal_limit: PrincipalRateLimit
    backend: LimitBackend
    rules: RuleSet

    @property
    def before_parse(self) -> list[InFlightLimit | IpRateLimit]:
        """In-flight cap first (cheapest, protects everything after it), then the IP limit."""
        stages: list[InFlightLimit | IpRateLimit] = [self.in_flight]
        if self.ip_limit is not None:
            stages.append(self.ip_limit)
        return stages

    @property
    def after_authorization(self) -> list[PrincipalRateLimit]:
        """The per-principal limit (after the security stages)."""
        return [self.principal_limit]


def build_rate_limiting(settings: RateLimitSettings, state: SharedState) -> RateLimiting:
    """Everything issue #5 adds to the request path, for one process."""
    backend = LimitBackend.for_state(state, settings.strategy)
    rules = RuleSet.with_defaults(tuple(parse_rule(text) for text in settings.rate_limits))
    strict = settings.strict_wsi_faults
    ip_item = parse_limit(settings.ip_rate_limit)
    in_flight = InFlightLimit(settings.max_in_flight)
    return RateLimiting(
        in_flight=in_flight,
        in_flight_release=InFlightRelease(in_flight),
        ip_limit=IpRateLimit(backend, ip_item, strict_wsi_faults=strict) if ip_item else None,
        principal_limit=PrincipalRateLimit(backend, rules, strict_wsi_faults=strict),
        backend=backend,
        rules=rules,
    )
