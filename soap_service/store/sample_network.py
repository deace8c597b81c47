"""The bundled sample network (highways 192, 217 and 225), loaded into an empty database.

It ships as sample_network.csv, in the format `highway-server network import` reads.
"""

from __future__ import annotations

from importlib import resources
from typing import Any

from soap_service.domain import Highway
from soap_service.store.database import transaction
from soap_service.store.network_csv import parse_network
from soap_service.store.network_db import write_network


def sample_text() -> str:
    """The bundled network file's text (CSV)."""
    return resources.files(__package__).joinpath("sample_network.csv").read_text("utf-8")


def sample_highways() -> list[Highway]:
    """The bundled network, parsed and checked like an imported file."""
    return parse_network(sample_text())


def load_if_empty(conn: Any) -> bool:
    """Load the sample network when the database has no highways; True if it loaded.

    `conn` is a connection from database.connect() (either engine)."""
    if conn.execute("SELECT 1 FROM highways LIMIT 1").fetchone():
        return False
    highways = sample_highways()
    with transaction(conn, serialize=True):
        if conn.execute("SELECT 1 FROM highways LIMIT 1").fetchone():  # another starter won
            return False
        write_network(conn, highways)
    return True
