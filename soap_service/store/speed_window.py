"""Speed windows kept up to date by increments, so a read costs what arrived since the last one.

A segment's travel time needs the median speed and the latest time of its observations in
the speed window (the last 10 minutes, and up to 5 minutes ahead). Reading every row of the
window on each cache miss costs ~2 us per row: 3,000 rows per segment made a read ~100 times
dearer than an empty window. Instead each process keeps, per set of segments it is asked
about, the window's rows in two sorted lists (by time, for expiry; by speed, for the median)
and asks the database only for rows it has not seen.

"Not seen" is exact because every stored row carries `batch_seq`, the data version its batch
committed (the batch bumps `data_version` first, in the same transaction, so on both engines a
batch's rows and its version commit together and later batches get higher versions). A read
sees a prefix of batches: all rows with `batch_seq <= V` for some V, none above. The first
load reads the window and that V in one statement; later reads ask for `batch_seq > seen`.
Rows are never changed after they are stored; retention deletes only rows older than any
window; a new network version starts every window afresh.

Concurrent reads need no lock (an asyncio lock would also tie the windows to one event loop):
each query returns a complete prefix, `add` skips rows at or below `seen`, and `load` replaces
everything with one consistent snapshot, so any order of overlapping updates ends the same.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

from sortedcontainers import SortedList

from soap_service import traveltime

Row = tuple[str, float, int, int]  # segment id, speed, observed at (ms), batch_seq


class SegmentWindows:
    """The window of a fixed set of segments: load once, then add what is new and expire."""

    def __init__(self, segment_ids: Sequence[str], network_version: object) -> None:
        self.segment_ids = tuple(segment_ids)
        self.network_version = network_version
        self.seen: int | None = None  # the highest batch_seq already included; None: unloaded
        self.since_ms: int | None = None
        self.last_read = 0.0  # time.monotonic() of the last read (refreshes do not count)
        # SortedList (a list of bounded sublists): O(log n) inserts, removals and indexing, so
        # a batch of 1000 rows joins a window of 100,000 in ~1 ms (a plain sorted list paid a
        # memmove of the whole list per row: ~30 ms).
        self._by_time: dict[str, SortedList] = {s: SortedList() for s in self.segment_ids}
        self._speeds: dict[str, SortedList] = {s: SortedList() for s in self.segment_ids}

    def load(self, rows: Iterable[tuple[str, float, int]], version: int, since_ms: int) -> None:
        """Start from the window's rows read together with the data version `version`."""
        by_time: dict[str, list[tuple[int, float]]] = {s: [] for s in self.segment_ids}
        for seg_id, speed, at_ms in rows:
            by_time[seg_id].append((int(at_ms), float(speed)))
        for seg_id, items in by_time.items():
            self._by_time[seg_id] = SortedList(items)
            self._speeds[seg_id] = SortedList(speed for _, speed in items)
        self.seen = version
        self.since_ms = since_ms

    def add(self, rows: Iterable[Row]) -> None:
        """Include rows stored since the last update (rows already included are skipped)."""
        assert self.seen is not None and self.since_ms is not None
        seen = self.seen
        newest = seen
        fresh: dict[str, list[tuple[int, float]]] = {}
        for seg_id, speed, at_ms, seq in rows:
            if seq <= seen:
                continue
            newest = max(newest, seq)
            if at_ms < self.since_ms or seg_id not in self._by_time:
                continue  # a late observation already outside the window
            fresh.setdefault(seg_id, []).append((int(at_ms), float(speed)))
        for seg_id, new in fresh.items():
            self._by_time[seg_id].update(new)
            self._speeds[seg_id].update(speed for _, speed in new)
        self.seen = newest

    def expire(self, since_ms: int) -> None:
        """Drop the rows older than `since_ms` (the window only moves forward: a read that
        computed an earlier `since_ms` while another moved it on gets the newer window)."""
        assert self.since_ms is not None
        if since_ms <= self.since_ms:
            return
        self.since_ms = since_ms
        for seg_id, by_time in self._by_time.items():
            cut = by_time.bisect_left((since_ms, float("-inf")))
            if not cut:
                continue
            speeds = self._speeds[seg_id]
            if cut <= len(by_time) // 2:
                for _, speed in by_time[:cut]:
                    speeds.remove(speed)
            else:  # most of the window goes: rebuild from what stays
                self._speeds[seg_id] = SortedList(speed for _, speed in by_time[cut:])
            del by_time[:cut]

    def summaries(self) -> dict[str, traveltime.WindowSummary]:
        """(median speed, latest observedAt) of each segment with rows in the window."""
        return {
            seg_id: (traveltime.median_of_sorted(self._speeds[seg_id]),
                     dt.datetime.fromtimestamp(by_time[-1][0] / 1000.0, tz=dt.UTC))
            for seg_id, by_time in self._by_time.items() if by_time
        }
