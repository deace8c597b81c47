"""The bundled sample network (highways 192, 217 and 225), loaded into an empty database."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

from soap_service.store.database import transaction


def sample_rows() -> tuple[
    list[tuple[str, str]], list[tuple[str, str, str, int, str, str, float, float]]
]:
    """Highway rows and segment rows of the bundled network, in insertion order."""
    data = json.loads(resources.files(__package__).joinpath("sample_network.json").read_text())
    highways, segments = [], []
    for hw in data["highways"]:
        highways.append((hw["id"], hw["name"]))
        stops = hw["interchanges"]
        for direction, order in hw["directions"].items():
            # Each interchange row holds the distance from the previous one.
            legs = [(stops[i][0], stops[i + 1][0], stops[i + 1][1]) for i in range(len(stops) - 1)]
            if order == "reverse":
                legs = [(to, frm, km) for frm, to, km in reversed(legs)]
            for position, (frm, to, km) in enumerate(legs, start=1):
                seg_id = f"{hw['id']}-{direction}-{position:02d}"
                segments.append(
                    (seg_id, hw["id"], direction, position, frm, to, km, float(hw["free_flow_kph"]))
                )
    return highways, segments


def load_if_empty(conn: Any) -> bool:
    """Load the sample network when the database has no highways; True if it loaded.

    `conn` is a connection from database.connect() (either engine)."""
    if conn.execute("SELECT 1 FROM highways LIMIT 1").fetchone():
        return False
    highways, segments = sample_rows()
    with transaction(conn, serialize=True):
        if conn.execute("SELECT 1 FROM highways LIMIT 1").fetchone():  # another starter won
            return False
        conn.executemany("INSERT INTO highways (id, name) VALUES (?, ?)", highways)
        conn.executemany(
            "INSERT INTO segments (id, highway_id, direction, position, from_name, to_name,"
            " length_km, free_flow_kph) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            segments,
        )
    return True
