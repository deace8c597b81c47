"""Log output: one JSON object per line (default) or text, with the log-hygiene filters."""

from __future__ import annotations

import asyncio
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
        time_text = _iso_time(created)
        line = _access_json(time_text, level, logger, fields)
        if line is not None:
            return line
        data: dict[str, Any] = {"time": time_text, "level": level, "logger": logger,
                                "event": "request"}
        data.update(fields)
        return json.dumps(data, default=str)


_quote = json.encoder.encode_basestring_ascii  # json.dumps's own string encoder (C)
_HEAD = ("time", "level", "logger", "event")  # an access line's first keys, in order
_KEY_PREFIXES: dict[str, str] = {}  # field name -> ', "name": ' (a handful of names)


def _access_json(time_text: str, level: str, logger: str, fields: dict[str, Any]) -> str | None:
    """What JsonFormatter.access_line's json.dumps writes, written directly (~5 us less per
    line: no encoder object, no generic dispatch); None when a field is not a None, str, int,
    bool or finite float value under a str name other than _HEAD's (dumps then decides)."""
    parts = [f'{{"time": {_quote(time_text)}, "level": {_quote(level)}, '
             f'"logger": {_quote(logger)}, "event": "request"']
    append = parts.append
    for key, value in fields.items():
        prefix = _KEY_PREFIXES.get(key)
        if prefix is None:
            if key.__class__ is not str or key in _HEAD:
                return None
            prefix = f", {_quote(key)}: "
            if len(_KEY_PREFIXES) < 64:
                _KEY_PREFIXES[key] = prefix
        kind = value.__class__
        if kind is str:
            text = _quote(value)
        elif value is None:
            text = "null"
        elif kind is int:
            text = int.__repr__(value)
        elif kind is float and value - value == 0.0:  # finite: NaN and inf are not
            text = float.__repr__(value)
        elif kind is bool:
            text = "true" if value else "false"
        else:
            return None
        append(prefix)
        append(text)
    append("}")
    return "".join(parts)


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
    """The access logger's handler: lines of one event-loop pass leave in one write, and a
    line can be written without a LogRecord.

    Every answer writes one access line. Building a LogRecord for it (caller lookup, thread
    and process names) and dispatching it cost ~10 us more than formatting it, on the path of
    every request: `write_fields` is used only when nothing else could act on the record
    (AccessLog checks: this handler alone, no filters that would see it), and produces the
    same line through the same formatter. A write (and flush) per line cost the server ~3 % of
    its cached reads at 16 connections (A/B, noisy): on the event loop's thread the lines are
    gathered and written together once the loop's current pass is done (`call_soon`), or at
    once when they reach PENDING_LIMIT characters; elsewhere (no running loop) each is written
    at once.
    `flush()` writes what is pending (logging calls it at exit)."""

    PENDING_LIMIT = 1 << 16

    def __init__(self, stream: Any = None) -> None:
        super().__init__(stream)
        self._pending: list[str] = []
        self._pending_size = 0
        # The loop a write of the pending lines is scheduled on (a loop that closed before
        # running it, as tests' loops do, does not hold lines back: the next loop schedules).
        self._scheduled: asyncio.AbstractEventLoop | None = None

    def write_fields(self, level: int, logger: str, fields: dict[str, Any]) -> None:
        """Format and write one access line at `level`, as emit() would."""
        formatter = self.formatter
        assert isinstance(formatter, (JsonFormatter, TextFormatter))
        line = formatter.access_line(time.time(), logging.getLevelName(level), logger, fields)
        self._write(line + self.terminator, level, logger)

    def emit(self, record: logging.LogRecord) -> None:
        """Format the record and write it with the other access lines (in order)."""
        try:
            text = self.format(record) + self.terminator
        except Exception:  # as StreamHandler.emit: logging never breaks the server
            self.handleError(record)
            return
        self._write(text, record.levelno, record.name)

    def _write(self, text: str, level: int, logger: str) -> None:
        loop = _running_loop()
        with self.lock:  # type: ignore[union-attr]  # created by Handler.__init__
            self._pending.append(text)
            self._pending_size += len(text)
            if loop is not None and self._pending_size < self.PENDING_LIMIT:
                if self._scheduled is loop:
                    return
                self._scheduled = loop
            else:
                loop = None
        if loop is not None:
            loop.call_soon(self._write_pending, level, logger)
        else:
            self._write_pending(level, logger)

    def _write_pending(self, level: int, logger: str) -> None:
        with self.lock:  # type: ignore[union-attr]
            self._scheduled = None
            text = "".join(self._pending)
            self._pending.clear()
            self._pending_size = 0
            if not text:
                return
            try:
                self.stream.write(text)
                super().flush()
            except Exception:  # as Handler.handleError: logging never breaks the server
                self.handleError(_record_for_error(level, logger))

    def flush(self) -> None:
        """Write the pending lines, then flush the stream."""
        self._write_pending(logging.INFO, ACCESS_LOGGER)
        super().flush()


def _running_loop() -> asyncio.AbstractEventLoop | None:
    """The event loop running in this thread, if any."""
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


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
