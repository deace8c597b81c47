"""The service's effective configuration: one frozen dataclass per concern, composed here."""

from __future__ import annotations

import dataclasses

from soap_service.frontdoor.settings import FrontDoorSettings
from soap_service.ops.settings import OpsSettings
from soap_service.ratelimit.settings import RateLimitSettings
from soap_service.security.settings import SecuritySettings, TlsSettings
from soap_service.settings_fields import (
    int_between,
    non_negative_float,
    positive_float,
    setting,
)


def _db_url(text: str) -> str:
    """Accept a path, sqlite:/// or postgresql:// URL (checked, kept as written)."""
    from soap_service.store.database import parse_db_url

    parse_db_url(text)
    return text


_DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def duration_seconds(text: str) -> float | None:
    """Seconds in a duration such as `8d`, `36h`, `90m`, `3600s` or `1w`; None for `off`."""
    value = text.strip().lower()
    if value == "off":
        return None
    number, unit = value[:-1], value[-1:]
    try:
        if unit not in _DURATION_UNITS:
            raise ValueError
        amount = float(number)
    except ValueError:
        raise ValueError("a duration is a number and a unit: s, m, h, d or w (e.g. 8d, 36h), "
                         "or off") from None
    if not amount > 0 or amount == float("inf"):
        raise ValueError("a duration must be greater than zero")
    return amount * _DURATION_UNITS[unit]


def _duration(text: str) -> str:
    """Accept a duration (checked, kept as written)."""
    duration_seconds(text)
    return text.strip()


def _share(text: str) -> float:
    """A fraction greater than 0 and at most 1."""
    value = float(text)
    if not 0 < value <= 1:
        raise ValueError("must be greater than 0 and at most 1")
    return value


@dataclasses.dataclass(frozen=True)
class CoreSettings:
    """Where the service listens, where its data lives, how travel times are computed."""

    host: str = setting("127.0.0.1", flag="--host", help="address to listen on")
    port: int = setting(
        8080,
        flag="--port",
        parse=int_between(0, 65535, "a TCP port"),
        help="TCP port (0 picks a free one)",
    )
    db: str = setting(
        "./highway.db",
        flag="--db",
        parse=_db_url,
        help="database: a SQLite file (PATH or sqlite:///PATH, embedded) or "
        "postgresql://USER@HOST:PORT/DB shared by several machines",
    )
    db_timeout_seconds: float = setting(
        3.0,
        flag="--db-timeout",
        parse=positive_float,
        help="longest a request waits for the database (locks, connections) before "
        "answering 503 Server.Unavailable with Retry-After",
    )
    accounts_cache_seconds: float = setting(
        1.0,
        flag="--accounts-cache-seconds",
        parse=non_negative_float,
        help="how long an account read from the database is reused; accounts changed on any "
        "machine take effect within this time (0: read per request)",
    )
    public_url: str | None = setting(
        None,
        flag="--public-url",
        help="endpoint URL advertised in the WSDL's soap:address "
        "(default: derived from the listening address, never from the Host header)",
    )
    workers: int = setting(
        1,
        flag="--workers",
        parse=int_between(1, 256),
        help="processes sharing the listening socket",
    )
    bulk_share: float = setting(
        0.3,
        flag="--bulk-share",
        parse=_share,
        help="largest share of a process's time that large requests (bodies of 16 KiB or "
        "more: batches) take while smaller ones (reads) are waiting; 1 turns the pacing off",
    )
    speed_window_minutes: float = setting(
        10.0,
        flag="--speed-window-minutes",
        parse=positive_float,
        help="observations younger than this make a segment's current speed",
    )
    network_check_seconds: float = setting(
        2.0,
        flag="--network-check-seconds",
        parse=non_negative_float,
        help="how often the network version in the database is checked; a network imported "
        "on any machine is served within this time (0: only at start and on SIGHUP)",
    )
    retention: str = setting(
        "8d",
        flag="--retention",
        parse=_duration,
        help="observations older than this are deleted in the background (e.g. 8d, 36h; "
        "off keeps everything); below 7d it also shortens the acceptance window to match, so "
        "a resent observation is still found a duplicate",
    )
    load_sample_data: bool = setting(
        True, flag="--sample-data", help="load the bundled sample network into an empty database"
    )
    shutdown_grace_seconds: float = setting(
        10.0,
        flag="--shutdown-grace",
        parse=positive_float,
        help="on SIGTERM/SIGINT, how long in-flight requests may take to finish",
    )


@dataclasses.dataclass(frozen=True)
class ServerSettings:
    """Everything `highway-server serve` can be told, with safe defaults."""

    core: CoreSettings = dataclasses.field(default_factory=CoreSettings)
    tls: TlsSettings = dataclasses.field(default_factory=TlsSettings)
    frontdoor: FrontDoorSettings = dataclasses.field(default_factory=FrontDoorSettings)
    security: SecuritySettings = dataclasses.field(default_factory=SecuritySettings)
    ratelimit: RateLimitSettings = dataclasses.field(default_factory=RateLimitSettings)
    ops: OpsSettings = dataclasses.field(default_factory=OpsSettings)

    def __post_init__(self) -> None:
        # Several workers with in-process state would let a captured message be replayed to
        # another worker: refuse that unless the operator says so explicitly.
        per_process = self.ratelimit.state_url.startswith("memory://")
        if self.core.workers > 1 and per_process and not self.ratelimit.allow_per_process_state:
            raise ValueError(
                "core.workers (--workers) > 1 needs shared state: set ratelimit.state_url "
                "(--state-url redis://...), or accept per-process replay caches and limits with "
                "ratelimit.allow_per_process_state (--allow-per-process-state)"
            )

    @property
    def uses_tls(self) -> bool:
        """True when the SOAP listener speaks HTTPS."""
        return self.tls.tls_cert is not None

    def endpoint_url(self, bound_port: int | None = None) -> str:
        """The URL advertised as soap:address: configured, else the listening address."""
        if self.core.public_url:
            return self.core.public_url
        return self.listener_url(bound_port)

    def listener_url(self, bound_port: int | None = None) -> str:
        """The SOAP endpoint of the listener itself (ignoring --public-url): https with TLS."""
        scheme = "https" if self.uses_tls else "http"
        host = self.core.host
        if ":" in host and not host.startswith("["):
            host = f"[{host}]"
        port = bound_port if bound_port is not None else self.core.port
        return f"{scheme}://{host}:{port}/soap"


SECTIONS: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(ServerSettings))
