"""Reading an observations CSV completely, with every malformed row reported by line number."""

from __future__ import annotations

import csv
import datetime as dt
import functools
import math
import re
from collections.abc import Collection
from typing import Any, NamedTuple, TextIO

from client.models import Observation

HEADER = ("sensor_id", "segment_id", "observed_at", "speed_kph")
# The contract's patterns (ht:SensorId, ht:SegmentId), so the service never refuses a batch
# for a row we could have caught before sending anything.
_SENSOR = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:\-]{0,63}")
_SEGMENT = re.compile(r"[A-Za-z0-9][A-Za-z0-9_\-]{0,31}")
MAX_AGE = dt.timedelta(days=7)
MAX_FUTURE = dt.timedelta(minutes=5)
MAX_REPORTED_ERRORS = 20


class MalformedFile(ValueError):
    """The file has malformed rows; nothing was sent. `problems` are 'line N: ...' strings,
    consecutive lines with the same problem grouped as 'lines N-M: ...'."""

    def __init__(self, problems: list[str], total: int,
                 entries: list[tuple[int, str]] | None = None,
                 rows: list[Row] | None = None) -> None:
        more = f"\n... and {len(problems) - MAX_REPORTED_ERRORS} more" \
            if len(problems) > MAX_REPORTED_ERRORS else ""
        super().__init__(f"{total} malformed row(s), nothing was sent:\n  "
                         + "\n  ".join(problems[:MAX_REPORTED_ERRORS]) + more)
        self.problems = problems
        self.total = total
        self.entries = entries or []
        self.rows = rows or []

    @classmethod
    def from_entries(cls, entries: list[tuple[int, str]],
                     rows: list[Row] | None = None) -> MalformedFile:
        """Group (line, problem) pairs: a run of consecutive lines with one problem is one."""
        return cls(group_problems(entries), len(entries), sorted(entries), rows)


def group_problems(entries: list[tuple[int, str]]) -> list[str]:
    """'lines 3-22: older than 7 days' for consecutive lines sharing a message."""
    grouped: list[list[Any]] = []  # [first, last, message]
    for line, message in sorted(entries):
        if grouped and grouped[-1][2] == message and line == grouped[-1][1] + 1:
            grouped[-1][1] = line
        else:
            grouped.append([line, line, message])
    return [f"line {a}: {m}" if a == b else f"lines {a}-{b}: {m}" for a, b, m in grouped]


class Row(NamedTuple):
    """One checked CSV row: its line (for messages) and its observation's fields.

    A named tuple of the fields rather than of an Observation: made once per CSV row before
    anything is sent, it is what reading a file costs per row (an Observation, a frozen
    dataclass, costs about as much again). `observation` makes the Observation when a batch
    is prepared, which the upload does while the previous batch is in flight."""

    line: int
    sensor_id: str
    segment_id: str
    observed_at: dt.datetime
    speed_kph: float

    @classmethod
    def of(cls, line: int, observation: Observation) -> Row:
        """The row of an Observation read from `line`."""
        return cls(line, observation.sensor_id, observation.segment_id, observation.observed_at,
                   observation.speed_kph)

    @property
    def observation(self) -> Observation:
        """The row as an Observation (a new one each time)."""
        return Observation(self.sensor_id, self.segment_id, self.observed_at, self.speed_kph)


@functools.lru_cache(maxsize=4096)
def _parse_time(text: str) -> dt.datetime:
    """observed_at as an aware UTC datetime (cached: a file's times repeat across sensors)."""
    moment = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError(f"observed_at {text!r} needs a time zone (e.g. Z)")
    return moment.astimezone(dt.UTC)


def _parse_row(line: int, sensor: str, segment: str, observed: str, speed_text: str) -> Row:
    """One row's stripped HEADER fields ("" when absent) -> Row, or ValueError.

    The checks run in this order (the first failing one is the row's message): missing
    fields, sensor_id, segment_id, speed_kph, observed_at."""
    if not (sensor and segment and observed and speed_text):
        values = (sensor, segment, observed, speed_text)
        missing = [key for key, value in zip(HEADER, values, strict=True) if not value]
        raise ValueError(f"missing {', '.join(missing)}")
    if not _SENSOR.fullmatch(sensor):  # sensors are many: a cache would mostly miss
        raise ValueError(f"sensor_id {sensor[:70]!r} is not a valid sensor id")
    if segment not in _valid_segments:
        if not _SEGMENT.fullmatch(segment):
            raise ValueError(f"segment_id {segment[:40]!r} is not a valid segment id")
        if len(_valid_segments) >= _CACHE_LIMIT:
            _valid_segments.clear()
        _valid_segments.add(segment)
    speed = _valid_speeds.get(speed_text)
    if speed is None:
        try:
            speed = float(speed_text)
        except ValueError:
            raise ValueError(f"speed_kph {speed_text[:20]!r} is not a number") from None
        if not math.isfinite(speed) or not 0 <= speed <= 300:
            raise ValueError(f"speed_kph {speed:g} is outside 0..300")
        if len(_valid_speeds) >= _CACHE_LIMIT:
            _valid_speeds.clear()
        _valid_speeds[speed_text] = speed
    return Row(line, sensor, segment, _parse_time(observed), speed)


# Texts already found valid (a file's segments and speeds repeat): a set or dict look-up
# instead of a regular expression or float() per row; bounded, cleared when full.
_CACHE_LIMIT = 1 << 16
_valid_segments: set[str] = set()
_valid_speeds: dict[str, float] = {}


def read_rows(handle: TextIO) -> list[Row]:
    """Every row of the file, or MalformedFile listing the bad lines (up to 20 of them)."""
    reader = csv.reader(handle)
    names = [name.strip() for name in next(reader, None) or ()]
    if not set(HEADER) <= set(names):
        raise MalformedFile([f"line 1: header must contain {','.join(HEADER)}"], 1, [(1, "header")])
    # Column of each HEADER field (the last one of a repeated name, as csv.DictReader reads).
    column = {name: i for i, name in enumerate(names)}
    si, gi, ti, vi = (column[key] for key in HEADER)
    needed = max(si, gi, ti, vi) + 1  # a row this long has every HEADER field
    width = len(names)
    rows: list[Row] = []
    entries: list[tuple[int, str]] = []
    append = rows.append
    for fields in reader:
        if not fields:
            continue  # a blank line (csv.DictReader skips them too)
        count = len(fields)
        try:
            if count > width:
                raise ValueError("more fields than the header has")
            if count >= needed:
                append(_parse_row(reader.line_num, fields[si].strip(), fields[gi].strip(),
                                  fields[ti].strip(), fields[vi].strip()))
            else:  # a short row: the fields it lacks are absent
                append(_parse_row(reader.line_num, *(fields[i].strip() if i < count else ""
                                                     for i in (si, gi, ti, vi))))
        except ValueError as exc:
            entries.append((reader.line_num, str(exc)))
    if entries:
        # The good rows come along so the caller can check them too (one pass, every error).
        raise MalformedFile.from_entries(entries, rows)
    return rows


def check_rows(rows: list[Row], known_segments: Collection[str], now: dt.datetime,
               earlier: list[tuple[int, str]] | None = None) -> None:
    """Refuse rows the service would refuse (unknown segment, too old, in the future);
    `earlier` problems (syntax) are reported with these, in one list."""
    entries = list(earlier or [])
    oldest, newest = now - MAX_AGE, now + MAX_FUTURE
    for row in rows:
        problem = None
        if known_segments and row.segment_id not in known_segments:
            problem = f"unknown segment {row.segment_id!r}"
        elif row.observed_at < oldest:
            problem = "observed_at is older than 7 days (try --shift-to-now)"
        elif row.observed_at > newest:
            problem = "observed_at is more than 5 minutes in the future"
        if problem is not None:
            entries.append((row.line, problem))
    if entries:
        raise MalformedFile.from_entries(entries)


def shifted(rows: list[Row], seconds: float) -> list[Row]:
    """Rows with observed_at moved by `seconds` (spacing between rows is kept)."""
    delta = dt.timedelta(seconds=seconds)
    return [r._replace(observed_at=r.observed_at + delta) for r in rows]
