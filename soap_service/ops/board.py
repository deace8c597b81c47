"""The live travel-time board of the service page: one page of highways at a time, from the store.

A page holds at most PAGE_SIZE highways, so GET / costs the same on a 3- or a 5,000-highway
network; each page is built once per data version (BoardCache) and reused until it changes.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable
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


PAGE_SIZE = 25  # highways per board page


def page_count(highways: int, page_size: int = PAGE_SIZE) -> int:
    """How many pages `highways` highways fill (at least one)."""
    return max(1, -(-highways // page_size))


def _pager(page: int, pages: int, total: int, page_size: int) -> str:
    """'Highways 26-50 of 1,000' with links to the neighbouring pages (plain links, no JS)."""
    first = (page - 1) * page_size + 1
    last = min(total, page * page_size)
    links = []
    if page > 1:
        links.append(f'<a href="/?page={page - 1}#board">previous</a>')
    if page < pages:
        links.append(f'<a href="/?page={page + 1}#board">next</a>')
    shown = f"Highways {first}-{last} of {total:,}" if total else "No highways"
    return (f'<p class="pager">{shown} (page {page} of {pages}). '
            + " &middot; ".join(links) + "</p>")


async def render_board(store: TrafficStore, page: int = 1, page_size: int = PAGE_SIZE) -> str:
    """One page of the board as an HTML section: one row per highway direction."""
    rows = []
    as_of = store.now()
    highways = store.highways()
    pages = page_count(len(highways), page_size)
    page = min(max(page, 1), pages)
    for highway in highways[(page - 1) * page_size:page * page_size]:
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
        f"{_pager(page, pages, len(highways), page_size)}"
        f'<table class="board"><thead>{head}</thead><tbody>{"".join(rows)}</tbody></table>'
        "</section>"
    )


class BoardCache:
    """Board pages built once per data version: repeated GET / cost a dictionary lookup."""

    def __init__(self, store: TrafficStore,
                 version: Callable[[], Awaitable[Hashable]] | None = None,
                 page_size: int = PAGE_SIZE) -> None:
        self._store = store
        # answer_version changes on every commit (any process) and every second (asOf).
        self._version = version or store.answer_version
        self._page_size = page_size
        self._built: Hashable = None
        self._pages: dict[int, str] = {}

    async def page(self, page: int) -> str:
        """The board's page `page` (clamped to the pages that exist)."""
        version = await self._version()
        if version != self._built:
            self._built, self._pages = version, {}
        page = min(max(page, 1), page_count(len(self._store.highways()), self._page_size))
        html = self._pages.get(page)
        if html is None:
            html = self._pages[page] = await render_board(self._store, page, self._page_size)
        return html
