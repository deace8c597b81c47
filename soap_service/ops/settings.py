"""Operations settings: logging and metrics."""

from __future__ import annotations

import dataclasses

from soap_service.settings_fields import setting

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
LOG_FORMATS = ("json", "text")


def _log_level(text: str) -> str:
    value = text.strip().upper()
    if value not in LOG_LEVELS:
        raise ValueError(f"{text!r}: expected one of {', '.join(LOG_LEVELS)}")
    return value


def _log_format(text: str) -> str:
    value = text.strip().lower()
    if value not in LOG_FORMATS:
        raise ValueError(f"{text!r}: expected one of {', '.join(LOG_FORMATS)}")
    return value


def _metrics_port(text: str) -> int:
    value = int(text)
    if not 0 <= value <= 65535:
        raise ValueError("must be a TCP port between 0 and 65535 (0 picks a free one)")
    return value


def _host(text: str) -> str:
    value = text.strip()
    if not value or any(ch.isspace() for ch in value):
        raise ValueError(f"{text!r}: expected an address such as 127.0.0.1 or ::1")
    return value


@dataclasses.dataclass(frozen=True)
class OpsSettings:
    """Where logs and metrics go."""

    log_level: str = setting(
        "INFO", flag="--log-level", parse=_log_level,
        help=f"least severe log records written: {', '.join(LOG_LEVELS)}",
    )
    log_format: str = setting(
        "json", flag="--log-format", parse=_log_format,
        help="json (one object per line, for log shippers) or text (for people)",
    )
    metrics_port: int | None = setting(
        None, flag="--metrics-port", parse=_metrics_port,
        help="serve Prometheus metrics at http://HOST:PORT/metrics on a separate listener "
        "(default: off; 0 picks a free port; with --workers N, worker i uses PORT+i)",
    )
    metrics_host: str = setting(
        "127.0.0.1", flag="--metrics-host", parse=_host,
        help="address of the metrics listener (keep it private: metrics are not authenticated)",
    )
    stage_timing: bool = setting(
        False, flag="--stage-timing",
        help="time every SOAP request per stage (front door, parse, schema, WS-Security, "
        "authorization, rate limit, operation, serialization, store, observers) into "
        "highway_stage_seconds_total on the metrics listener (needs --metrics-port)",
    )

    def __post_init__(self) -> None:
        # Values built in code (not by the loader) get the same checks, naming the setting.
        checks = (("log_level", "--log-level", _log_level), ("log_format", "--log-format",
                  _log_format), ("metrics_port", "--metrics-port", _metrics_port),
                  ("metrics_host", "--metrics-host", _host))
        for name, flag, check in checks:
            value = getattr(self, name)
            if value is None:
                continue
            try:
                check(str(value))
            except ValueError as exc:
                raise ValueError(f"invalid value for ops.{name} ({flag}): {exc}") from exc
