"""Travel times for people: aligned tables with congestion colour on a terminal, plain otherwise."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import TextIO

from client.models import DirectionTravelTime

RESET = "\033[0m"
# ANSI colours per congestion level; STOPPED is inverse red so it shows on any background.
COLOURS = {"FREE": "\033[32m", "MODERATE": "\033[33m", "HEAVY": "\033[31m",
           "STOPPED": "\033[1;97;41m"}
DIM = "\033[2m"
STATUS_COLUMN = 5


def use_colour(stream: TextIO) -> bool:
    """Colour only for a terminal, and never when NO_COLOR is set (https://no-color.org)."""
    if os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def table(
    headers: Sequence[str],
    rows: Sequence[Sequence[str]],
    *,
    paint: Callable[[int, int, str], str] | None = None,
    right: frozenset[int] = frozenset(),
) -> str:
    """Aligned columns; `paint(row, column, padded_text)` may wrap a cell in colour codes
    after padding, so colour never disturbs the alignment."""
    widths = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(headers)]

    def pad(col: int, text: str) -> str:
        return text.rjust(widths[col]) if col in right else text.ljust(widths[col])

    lines = ["  ".join(pad(i, h) for i, h in enumerate(headers)).rstrip(),
             "  ".join("-" * w for w in widths)]
    for r, row in enumerate(rows):
        cells = [pad(c, text) for c, text in enumerate(row)]
        if paint is not None:
            cells = [paint(r, c, text) for c, text in enumerate(cells)]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def format_travel_times(results: Sequence[DirectionTravelTime], *, colour: bool = False) -> str:
    """One titled table per direction; STATUS coloured by congestion when `colour`."""
    blocks = []
    for tt in results:
        delay = tt.total_minutes - tt.free_flow_minutes
        title = (f"Highway {tt.highway} {tt.direction}: {tt.total_minutes:.1f} min "
                 f"(free flow {tt.free_flow_minutes:.1f} min, delay {delay:+.1f}) "
                 f"as of {tt.as_of:%Y-%m-%d %H:%M:%SZ}")
        rows = [
            (s.segment_id, s.from_name, s.to_name, f"{s.speed_kph:.0f}",
             f"{s.current_minutes:.1f}", "no data" if s.stale else s.congestion)
            for s in tt.segments
        ]
        def paint(r: int, c: int, text: str, tt: DirectionTravelTime = tt) -> str:
            segment = tt.segments[r]
            if c != STATUS_COLUMN:
                return text
            if segment.stale:
                return f"{DIM}{text}{RESET}"
            return f"{COLOURS.get(segment.congestion, '')}{text}{RESET}"

        body = table(["SEGMENT", "FROM", "TO", "KM/H", "MIN", "STATUS"], rows,
                     paint=paint if colour else None, right=frozenset({3, 4}))
        blocks.append(title + "\n" + body)
    return "\n\n".join(blocks)
