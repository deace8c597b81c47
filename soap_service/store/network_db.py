"""Writing a road network into the database as a new network version, and reading it back.

A network replaces the previous one in one transaction. Highways and segments that the new
network no longer has are kept as rows marked `retired` (their observations stay, so foreign
keys hold and a segment that comes back finds its history) but are no longer served: reads
and ReportObservations only know the active network, and retention deletes the old
observations in time. The `network_version` row is bumped in the same transaction (every
server polls it and reloads), and so is `data_version` (cached answers are dropped).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from soap_service.domain import Direction, Highway, Segment
from soap_service.store.database import transaction

HIGHWAYS_SQL = "SELECT id, name FROM highways WHERE retired = 0"
SEGMENTS_SQL = (
    "SELECT id, highway_id, direction, position, from_name, to_name, length_km, free_flow_kph"
    " FROM segments WHERE retired = 0 ORDER BY highway_id, direction, position"
)
VERSION_SQL = "SELECT version FROM network_version WHERE id = 1"
# Retired segments move to negative positions unique per version, off (highway, direction,
# position)'s unique key: -(version * POSITION_SPAN + position). Larger than any direction.
POSITION_SPAN = 10000


@dataclasses.dataclass(frozen=True)
class NetworkChange:
    """What an import changed, for the command's summary line."""

    version: int
    highways: int
    segments: int
    added: int  # segments new to the active network
    changed: int  # segments kept with different attributes or position
    retired: int  # segments no longer in the network
    unchanged: int


def highway_sort_key(highway_id: str) -> tuple[int, str]:
    """Numeric order of highway ids ("5" before "101"), then the id itself."""
    digits = "".join(ch for ch in highway_id if ch.isdigit())
    return (int(digits or 0), highway_id)


def build_highways(
    highway_rows: Sequence[Sequence[Any]], segment_rows: Sequence[Sequence[Any]]
) -> list[Highway]:
    """Highways in numeric order from rows of HIGHWAYS_SQL and SEGMENTS_SQL."""
    names = {str(row[0]): str(row[1]) for row in highway_rows}
    by_highway: dict[str, dict[Direction, list[Segment]]] = {hid: {} for hid in names}
    for row in segment_rows:
        seg = Segment(str(row[0]), str(row[1]), Direction(row[2]), int(row[3]), str(row[4]),
                      str(row[5]), float(row[6]), float(row[7]))
        if seg.highway_id in by_highway:
            by_highway[seg.highway_id].setdefault(seg.direction, []).append(seg)
    return [
        Highway(hid, names[hid], {d: tuple(s) for d, s in dirs.items()})
        for hid, dirs in sorted(by_highway.items(), key=lambda item: highway_sort_key(item[0]))
    ]


def read_highways(conn: Any) -> list[Highway]:
    """The active network through a synchronous connection (start-up, commands)."""
    return build_highways(conn.execute(HIGHWAYS_SQL).fetchall(),
                          conn.execute(SEGMENTS_SQL).fetchall())


def read_version(conn: Any) -> int:
    """The network version through a synchronous connection."""
    row = conn.execute(VERSION_SQL).fetchone()
    return int(row[0]) if row else 0


def _segment_key(seg: Segment) -> tuple[Any, ...]:
    return (seg.highway_id, seg.direction.value, seg.position, seg.from_name, seg.to_name,
            seg.length_km, seg.free_flow_kph)


def write_network(conn: Any, highways: Sequence[Highway]) -> NetworkChange:
    """Replace the active network by `highways` as a new version (call inside a transaction)."""
    before = {s.id: _segment_key(s) for hw in read_highways(conn)
              for segs in hw.segments.values() for s in segs}
    conn.execute("UPDATE network_version SET version = version + 1 WHERE id = 1")
    version = read_version(conn)
    conn.execute("UPDATE highways SET retired = 1 WHERE retired = 0")
    conn.execute(
        "UPDATE segments SET retired = 1, position = -(? * ? + position) WHERE retired = 0",
        (version, POSITION_SPAN),
    )
    conn.executemany(
        "INSERT INTO highways (id, name, retired) VALUES (?, ?, 0) ON CONFLICT (id) DO UPDATE"
        " SET name = excluded.name, retired = 0",
        [(hw.id, hw.name) for hw in highways],
    )
    segments = [s for hw in highways for segs in hw.segments.values() for s in segs]
    conn.executemany(
        "INSERT INTO segments (id, highway_id, direction, position, from_name, to_name,"
        " length_km, free_flow_kph, retired) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0)"
        " ON CONFLICT (id) DO UPDATE SET highway_id = excluded.highway_id,"
        " direction = excluded.direction, position = excluded.position,"
        " from_name = excluded.from_name, to_name = excluded.to_name,"
        " length_km = excluded.length_km, free_flow_kph = excluded.free_flow_kph, retired = 0",
        [(s.id, s.highway_id, s.direction.value, s.position, s.from_name, s.to_name,
          s.length_km, s.free_flow_kph) for s in segments],
    )
    # Cached answers of every process were built from the old network.
    conn.execute("UPDATE data_version SET version = version + 1 WHERE id = 1")
    new_ids = {s.id for s in segments}
    added = sum(1 for s in segments if s.id not in before)
    unchanged = sum(1 for s in segments if before.get(s.id) == _segment_key(s))
    return NetworkChange(
        version=version, highways=len(highways), segments=len(segments), added=added,
        changed=len(segments) - added - unchanged,
        retired=sum(1 for sid in before if sid not in new_ids), unchanged=unchanged,
    )


def import_network(conn: Any, highways: Sequence[Highway]) -> NetworkChange:
    """Apply `highways` as a new network version, atomically (all or nothing)."""
    with transaction(conn, serialize=True):
        return write_network(conn, highways)
