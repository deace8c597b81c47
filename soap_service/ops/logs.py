"""Log output: one JSON object per line (default) or text, with the log-hygiene filters."""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import Any

from soap_service.ops.settings import OpsSettings

ACCESS_ATTR = "access"  # LogRecord attribute holding an access-log line's fields
ACCESS_LOGGER = "highway.access"


_second_cache: list[object] = [-1, ""]  # [whole second, its formatted text]: one strftime/s


def _iso_time(record: logging.LogRecord) -> str:
    second = int(record.created)
    if _second_cache[0] != second:
        _second_cache[:] = [second, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))]
    return f"{_second_cache[1]}.{int(record.msecs):03d}Z"


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, then the message or the access fields."""

    def format(self, record: logging.LogRecord) -> str:
        """See logging.Formatter.format."""
        data: dict[str, Any] = {"time": _iso_time(record), "level": record.levelname,
                                "logger": record.name}
        fields = getattr(record, ACCESS_ATTR, None)
        if fields is not None:
            data["event"] = "request"
            data.update(fields)
        else:
            data["message"] = record.getMessage()
            if record.exc_info:
                data["exception"] = self.formatException(record.exc_info)
        return json.dumps(data, default=str)


class TextFormatter(logging.Formatter):
    """`time LEVEL logger message`; access lines as `key=value` pairs."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        """See logging.Formatter.format."""
        fields = getattr(record, ACCESS_ATTR, None)
        if fields is None:
            return super().format(record)
        pairs = " ".join(
            f"{_TEXT_NAMES.get(key, key)}={_text(value)}" for key, value in fields.items()
            if value is not None
        )
        return f"{self.formatTime(record)} {record.levelname} {record.name} {pairs}"


# Shorter names in the text form (the JSON names are the documented ones).
_TEXT_NAMES = {"operation": "op", "correlation_id": "cid"}


def _text(value: Any) -> str:
    text = str(value)
    return text if text and " " not in text and '"' not in text else json.dumps(text)


def configure_logging(ops: OpsSettings) -> None:
    """Send every log record to stderr in the configured format, then install the filters
    that keep envelopes and secrets out (frontdoor/log_hygiene.py)."""
    formatter = JsonFormatter() if ops.log_format == "json" else TextFormatter()
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    logging.basicConfig(level=getattr(logging, ops.log_level), handlers=[handler], force=True)
    from soap_service.frontdoor.log_hygiene import install_log_filters

    install_log_filters()
    # Access lines are built only from the server's own decisions (ops/access_log.py redacts
    # the one free-text field), so they skip the root handler's per-record redaction regexes:
    # this is the one log line every request writes.
    access_handler = logging.StreamHandler(sys.stderr)
    access_handler.setFormatter(formatter)
    access = logging.getLogger(ACCESS_LOGGER)
    access.handlers = [access_handler]
    access.propagate = False
