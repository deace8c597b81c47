"""Log output: one JSON object per line (default) or text, with the log-hygiene filters."""

from __future__ import annotations

import json
import logging
import sys
import time
import types
from typing import Any

from soap_service.ops.settings import OpsSettings

ACCESS_ATTR = "access"  # LogRecord attribute holding an access-log line's fields
ACCESS_LOGGER = "highway.access"


_second_cache: list[object] = [-1, ""]  # [whole second, its formatted text]: one strftime/s


def _iso_time(created: float) -> str:
    second = int(created)
    if _second_cache[0] != second:
        _second_cache[:] = [second, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))]
    # The milliseconds as logging.LogRecord computes `msecs` (truncated, not rounded).
    return f"{_second_cache[1]}.{int((created - second) * 1000):03d}Z"


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, then the message or the access fields."""

    def format(self, record: logging.LogRecord) -> str:
        """See logging.Formatter.format."""
        fields = getattr(record, ACCESS_ATTR, None)
        if fields is not None:
            return self.access_line(record.created, record.levelname, record.name, fields)
        data: dict[str, Any] = {"time": _iso_time(record.created), "level": record.levelname,
                                "logger": record.name}
        data["message"] = record.getMessage()
        if record.exc_info:
            data["exception"] = self.formatException(record.exc_info)
        return json.dumps(data, default=str)

    def access_line(self, created: float, level: str, logger: str,
                    fields: dict[str, Any]) -> str:
        """An access-log line (the one form for records and for AccessHandler.write_fields)."""
        data: dict[str, Any] = {"time": _iso_time(created), "level": level, "logger": logger,
                                "event": "request"}
        data.update(fields)
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
        return self.access_line(record.created, record.levelname, record.name, fields)

    def access_line(self, created: float, level: str, logger: str,
                    fields: dict[str, Any]) -> str:
        """An access-log line (the one form for records and for AccessHandler.write_fields)."""
        pairs = " ".join(
            f"{_TEXT_NAMES.get(key, key)}={_text(value)}" for key, value in fields.items()
            if value is not None
        )
        return f"{self._time_text(created)} {level} {logger} {pairs}"

    def _time_text(self, created: float) -> str:
        """logging's own formatTime text for a moment (it reads only `created` and `msecs`)."""
        moment = types.SimpleNamespace(created=created, msecs=int((created - int(created)) * 1000))
        return self.formatTime(moment)  # type: ignore[arg-type]


# Shorter names in the text form (the JSON names are the documented ones).
_TEXT_NAMES = {"operation": "op", "correlation_id": "cid"}


def _text(value: Any) -> str:
    text = str(value)
    return text if text and " " not in text and '"' not in text else json.dumps(text)


class AccessHandler(logging.StreamHandler):
    """The access logger's handler; it can also write a line without a LogRecord.

    Every answer writes one access line: building a LogRecord for it (caller lookup, thread
    and process names) and dispatching it cost ~10 us more than formatting it, on the path
    of every request. `write_fields` is used only when nothing else could act on the record
    (AccessLog checks: this handler alone, no filters that would see it), and produces the
    same line through the same formatter."""

    def write_fields(self, level: int, logger: str, fields: dict[str, Any]) -> None:
        """Format and write one access line at `level`, as emit() would."""
        formatter = self.formatter
        assert isinstance(formatter, (JsonFormatter, TextFormatter))
        line = formatter.access_line(time.time(), logging.getLevelName(level), logger, fields)
        with self.lock:  # type: ignore[union-attr]  # created by Handler.__init__
            try:
                self.stream.write(line + self.terminator)
                self.flush()
            except Exception:  # as Handler.handleError: logging never breaks the server
                self.handleError(_record_for_error(level, logger))


def _record_for_error(level: int, logger: str) -> logging.LogRecord:
    return logging.LogRecord(logger, level, __file__, 0, "request", None, None)


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
    access_handler = AccessHandler(sys.stderr)
    access_handler.setFormatter(formatter)
    access = logging.getLogger(ACCESS_LOGGER)
    access.handlers = [access_handler]
    access.propagate = False
