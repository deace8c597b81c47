"""Rate limit, load shedding and shared-state settings."""

from __future__ import annotations

import dataclasses
import urllib.parse

from soap_service.ratelimit.rules import DEFAULT_IP_LIMIT, DEFAULT_RULES, parse_limit, parse_rule
from soap_service.settings_fields import positive_int, setting
from soap_service.state.replay import DEFAULT_REPLAY_ENTRIES

STRATEGIES = ("fixed-window", "moving-window", "sliding-window-counter")
STATE_SCHEMES = ("memory", "redis", "rediss")


def _state_url(text: str) -> str:
    """Accept memory:// or redis[s]://HOST[:PORT][/DB]."""
    parsed = urllib.parse.urlparse(text.strip())
    if parsed.scheme not in STATE_SCHEMES:
        raise ValueError(f"{text!r}: expected memory:// or redis://HOST:PORT/DB (or rediss://)")
    if parsed.scheme != "memory" and not parsed.hostname:
        raise ValueError(f"{text!r}: a redis URL needs a host, e.g. redis://127.0.0.1:6379/0")
    return text.strip()


def _rule(text: str) -> str:
    """Validate one `SUBJECT[:OPERATION]=LIMIT` rule; kept as text so settings stay printable."""
    parse_rule(text)
    return text.strip()


def _limit(text: str) -> str:
    parse_limit(text)
    return text.strip()


def _strategy(text: str) -> str:
    value = text.strip().lower()
    if value not in STRATEGIES:
        raise ValueError(f"{text!r}: expected one of {', '.join(STRATEGIES)}")
    return value


@dataclasses.dataclass(frozen=True)
class RateLimitSettings:
    """Per-IP and per-principal limits, in-flight cap, and where shared counters live."""

    state_url: str = setting(
        "memory://",
        flag="--state-url",
        parse=_state_url,
        help="memory:// (per process) or redis://HOST:PORT/DB: rate-limit counters and the "
        "WS-Security replay cache shared by every process and machine using that Redis",
    )
    replay_cache_entries: int = setting(
        DEFAULT_REPLAY_ENTRIES,
        flag="--replay-cache-entries",
        parse=positive_int,
        help="nonces the in-process replay cache (memory:// state) holds per replay window; "
        "memory is fixed at start: 32 MiB at the default 900000 (2 x 8 bytes x the power of "
        "two at or above twice the entries); when full, WS-Security requests get 503 "
        "Server.Unavailable (logged once per window, counted in "
        "highway_replay_cache_full_refusals_total); ignored with redis:// state",
    )
    rate_limits: tuple[str, ...] = setting(
        (),
        flag="--rate-limit",
        repeatable=True,
        parse=_rule,
        help="per-principal limit SUBJECT[:OPERATION]=LIMIT, repeatable; SUBJECT is a role, "
        "account:NAME or *; LIMIT like 600/minute or 'unlimited'. The most specific matching "
        "configured rule applies; defaults apply only where no configured rule matches; "
        f"defaults: {', '.join(DEFAULT_RULES)}",
    )
    ip_rate_limit: str = setting(
        DEFAULT_IP_LIMIT,
        flag="--ip-rate-limit",
        parse=_limit,
        help="limit per client IP (IPv6: per /64), checked before parsing and authentication; "
        "LIMIT like 1200/minute, or 'unlimited'",
    )
    strategy: str = setting(
        "fixed-window",
        flag="--rate-limit-strategy",
        parse=_strategy,
        help=f"limits strategy: {', '.join(STRATEGIES)} (fixed-window is one Redis round trip)",
    )
    max_in_flight: int = setting(
        128,
        flag="--max-in-flight",
        parse=positive_int,
        help="SOAP requests processed at once per process; beyond it 503 Server.Overloaded",
    )
    allow_per_process_state: bool = setting(
        False,
        flag="--allow-per-process-state",
        help="with --workers N > 1 and memory:// state, accept that each worker keeps its own "
        "rate-limit counters and replay cache (a nonce replayed to another worker is not "
        "caught); prefer --state-url redis://",
    )
    strict_wsi_faults: bool = setting(
        False,
        flag="--strict-wsi-faults",
        help="send the Client.RateLimited fault with HTTP 500 (WS-I Basic Profile) instead of 429",
    )
