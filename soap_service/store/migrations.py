"""Versioned schema migrations, applied in order on start. Append new ones; never edit old ones."""

from __future__ import annotations

# (version, description, SQL script). A migration runs once, inside one transaction.
MIGRATIONS: list[tuple[int, str, str]] = [
    (
        1,
        "road network and observations",
        """
        CREATE TABLE highways (
            id   TEXT PRIMARY KEY,
            name TEXT NOT NULL
        );
        CREATE TABLE segments (
            id            TEXT PRIMARY KEY,
            highway_id    TEXT NOT NULL REFERENCES highways(id),
            direction     TEXT NOT NULL CHECK (direction IN ('NB', 'SB', 'EB', 'WB')),
            position      INTEGER NOT NULL,
            from_name     TEXT NOT NULL,
            to_name       TEXT NOT NULL,
            length_km     REAL NOT NULL CHECK (length_km > 0),
            free_flow_kph REAL NOT NULL CHECK (free_flow_kph > 0),
            UNIQUE (highway_id, direction, position)
        );
        CREATE TABLE observations (
            sensor_id      TEXT NOT NULL,
            observed_at_ms INTEGER NOT NULL,
            segment_id     TEXT NOT NULL REFERENCES segments(id),
            speed_kph      REAL NOT NULL,
            received_at_ms INTEGER NOT NULL,
            PRIMARY KEY (sensor_id, observed_at_ms)
        ) WITHOUT ROWID;
        CREATE INDEX observations_by_segment_time
            ON observations (segment_id, observed_at_ms);
        """,
    ),
    (
        2,
        "accounts (principals, roles, password hashes, certificate subjects)",
        """
        CREATE TABLE accounts (
            name          TEXT PRIMARY KEY,
            role          TEXT NOT NULL CHECK (role IN ('reader', 'operator', 'admin')),
            password_hash TEXT,
            digest_secret BLOB,
            cert_subject  TEXT UNIQUE,
            created_at    REAL NOT NULL
        );
        """,
    ),
]
