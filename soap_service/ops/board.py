"""The live travel-time board of the service page: every highway and direction, from the store."""

from __future__ import annotations

from html import escape

from soap_service.domain import DirectionTravelTime
from soap_service.store.traffic_store import TrafficStore

# Congestion colours (inline CSS, no external assets), readable on white.
COLOURS = {"FREE": "#2e7d32", "MODERATE": "#f9a825", "HEAVY": "#e65100", "STOPPED": "#b71c1c"}
STALE_COLOUR = "#9e9e9e"


def _segments_strip(tt: DirectionTravelTime) -> str:
    """One coloured cell per segment, in driving order, with a tooltip naming it."""
    cells = []
    for s in tt.segments:
        level = s.congestion.value
        colour = STALE_COLOUR if s.stale else COLOURS.get(level, STALE_COLOUR)
        state = "no recent data" if s.stale else f"{s.speed_kph:.0f} km/h, {level}"
        title = f"{s.segment.id}: {s.segment.from_name} to {s.segment.to_name} ({state})"
        cells.append(f'<span class="seg" style="background:{colour}" title="{escape(title)}">'
                     f"</span>")
    return "".join(cells)


def _worst(tt: DirectionTravelTime) -> str:
    order = ["FREE", "MODERATE", "HEAVY", "STOPPED"]
    live = [s.congestion.value for s in tt.segments if not s.stale]
    if not live:
        return "NO DATA"
    return max(live, key=order.index)


def _legend() -> str:
    items = [*COLOURS.items(), ("NO DATA", STALE_COLOUR)]
    return " ".join(f'<span class="badge" style="background:{c}">{escape(n)}</span>'
                    for n, c in items)


async def render_board(store: TrafficStore) -> str:
    """The board as an HTML section: one row per highway direction."""
    rows = []
    as_of = store.now()
    for highway in store.highways():
        for tt in await store.travel_times(highway.id):
            delay = tt.total_minutes - tt.free_flow_minutes
            worst = _worst(tt)
            colour = COLOURS.get(worst, STALE_COLOUR)
            fresh = sum(1 for s in tt.segments if not s.stale)
            rows.append(
                "<tr>"
                f'<td class="hw">{escape(highway.id)}</td><td>{escape(highway.name)}</td>'
                f"<td>{escape(tt.direction.value)}</td>"
                f'<td class="num">{tt.total_minutes:.1f}</td>'
                f'<td class="num">{tt.free_flow_minutes:.1f}</td>'
                f'<td class="num">{delay:+.1f}</td>'
                f'<td><span class="badge" style="background:{colour}">{escape(worst)}</span></td>'
                f'<td class="num">{fresh}/{len(tt.segments)}</td>'
                f'<td class="strip">{_segments_strip(tt)}</td>'
                "</tr>"
            )
    head = ("<tr><th>Highway</th><th>Name</th><th>Direction</th><th>Minutes now</th>"
            "<th>Free flow</th><th>Delay</th><th>Worst</th><th>Live segments</th>"
            "<th>Segments (driving order)</th></tr>")
    return (
        '<section id="board"><h2>Live travel times</h2>'
        f'<p class="note">As of {escape(as_of.strftime("%Y-%m-%d %H:%M:%S"))} UTC, computed '
        "from observations of the last minutes when this page was served; reload to update. "
        "Grey segments have no recent observation and count at free-flow speed.</p>"
        f'<p class="legend">{_legend()}</p>'
        f'<table class="board"><thead>{head}</thead><tbody>{"".join(rows)}</tbody></table>'
        "</section>"
    )
