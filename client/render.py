"""Tables for people, drawn with rich: congestion colour on a terminal, plain text otherwise.

Colour only when the stream is a terminal, NO_COLOR is unset (https://no-color.org) and TERM is
not "dumb"; piped output is plain ASCII text. `--json` output does not come through here.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterable, Sequence
from typing import TextIO

from rich import box
from rich.console import Console, RenderableType
from rich.table import Table
from rich.text import Text

from client.models import DirectionTravelTime, HighwaySummary

# rich styles per congestion level; STOPPED is inverse red so it shows on any background.
CONGESTION_STYLES = {"FREE": "green", "MODERATE": "yellow", "HEAVY": "red",
                     "STOPPED": "bold bright_white on red"}
STALE_STYLE = "dim"
# A header underline of ASCII dashes and no other lines: plain output stays greppable.
_PLAIN_BOX = box.Box("    \n    \n -- \n    \n    \n    \n    \n    \n", ascii=True)
_WIDE = 10_000  # not a terminal: never wrap a table


def is_terminal(stream: TextIO) -> bool:
    """True for an interactive terminal (redraws, progress bars), never for TERM=dumb."""
    if os.environ.get("TERM") == "dumb":
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def use_colour(stream: TextIO) -> bool:
    """Colour only for a terminal, and never when NO_COLOR is set (https://no-color.org)."""
    return is_terminal(stream) and not os.environ.get("NO_COLOR")


def console_for(stream: TextIO) -> Console:
    """A rich Console writing to `stream`: a terminal's width and colours, or plain text."""
    terminal = is_terminal(stream)
    colour = use_colour(stream)
    return Console(file=stream, force_terminal=terminal, no_color=not colour,
                   color_system="auto" if colour else None, width=None if terminal else _WIDE,
                   highlight=False, emoji=False, markup=False)


def to_text(renderables: Iterable[RenderableType], *, colour: bool = False) -> str:
    """Render to a string (ANSI styles only with `colour`); plain lines lose trailing blanks."""
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=colour, no_color=not colour,
                      color_system="standard" if colour else None, width=_WIDE,
                      highlight=False, emoji=False, markup=False)
    for renderable in renderables:
        console.print(renderable)
    text = buffer.getvalue().rstrip("\n")
    return text if colour else "\n".join(line.rstrip() for line in text.splitlines())


def _table(headers: Sequence[str], *, right: frozenset[int] = frozenset(),
           colour: bool = False) -> Table:
    table = Table(box=box.SIMPLE_HEAD if colour else _PLAIN_BOX, show_edge=False,
                  pad_edge=False, header_style="bold" if colour else "", expand=False)
    for index, header in enumerate(headers):
        table.add_column(header, justify="right" if index in right else "left", no_wrap=True)
    return table


def highways_table(highways: Sequence[HighwaySummary], *, colour: bool = False) -> Table:
    """The highways as one table."""
    table = _table(["ID", "NAME", "DIRECTIONS", "KM", "SEGMENTS"], right=frozenset({3, 4}),
                   colour=colour)
    for h in highways:
        table.add_row(h.id, h.name, "/".join(h.directions), f"{h.length_km:.1f}",
                      str(h.segment_count))
    return table


def travel_times_renderables(results: Sequence[DirectionTravelTime], *,
                             colour: bool = False) -> list[RenderableType]:
    """One title line and one table per direction; STATUS coloured by congestion."""
    out: list[RenderableType] = []
    for n, tt in enumerate(results):
        delay = tt.total_minutes - tt.free_flow_minutes
        if n:
            out.append(Text(""))
        out.append(Text(f"Highway {tt.highway} {tt.direction}: {tt.total_minutes:.1f} min "
                        f"(free flow {tt.free_flow_minutes:.1f} min, delay {delay:+.1f}) "
                        f"as of {tt.as_of:%Y-%m-%d %H:%M:%SZ}",
                        style="bold" if colour else ""))
        table = _table(["SEGMENT", "FROM", "TO", "KM/H", "MIN", "STATUS"],
                       right=frozenset({3, 4}), colour=colour)
        for s in tt.segments:
            status = (Text("no data", style=STALE_STYLE) if s.stale
                      else Text(s.congestion, style=CONGESTION_STYLES.get(s.congestion, "")))
            table.add_row(s.segment_id, s.from_name, s.to_name, f"{s.speed_kph:.0f}",
                          f"{s.current_minutes:.1f}", status)
        out.append(table)
    return out


def format_highways(highways: Sequence[HighwaySummary], *, colour: bool = False) -> str:
    """A readable table of highways."""
    return to_text([highways_table(highways, colour=colour)], colour=colour)


def format_travel_times(results: Sequence[DirectionTravelTime], *, colour: bool = False) -> str:
    """One titled table per direction; STATUS coloured by congestion when `colour`."""
    return to_text(travel_times_renderables(results, colour=colour), colour=colour)
