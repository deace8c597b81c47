"""Versioned schema migrations for both engines, applied in order on start.

Append new ones to both lists with the same numbers; never edit old ones.
"""

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
    (
        3,
        "data version counter (response caches of every process) and digest key ids",
        """
        CREATE TABLE data_version (
            id      INTEGER PRIMARY KEY CHECK (id = 1),
            version INTEGER NOT NULL
        );
        INSERT INTO data_version (id, version) VALUES (1, 0);
        ALTER TABLE accounts ADD COLUMN digest_key_id TEXT;
        """,
    ),
    (
        4,
        "network versions: retired highways and segments, a network version counter",
        """
        ALTER TABLE highways ADD COLUMN retired INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE segments ADD COLUMN retired INTEGER NOT NULL DEFAULT 0;
        CREATE TABLE network_version (
            id      INTEGER PRIMARY KEY CHECK (id = 1),
            version INTEGER NOT NULL
        );
        INSERT INTO network_version (id, version) VALUES (1, 0);
        """,
    ),
    (
        5,
        "observations by time (retention deletes the oldest in small chunks)",
        """
        CREATE INDEX observations_by_time ON observations (observed_at_ms);
        """,
    ),
    (
        6,
        "constant-cost reads: a covering index for the speed window, per-highway data versions",
        """
        CREATE INDEX observations_by_segment_time_speed
            ON observations (segment_id, observed_at_ms, speed_kph);
        DROP INDEX observations_by_segment_time;
        CREATE TABLE highway_data_version (
            highway_id TEXT PRIMARY KEY,
            version    INTEGER NOT NULL
        );
        """,
    ),
    (
        7,
        "incremental speed windows: each stored row carries the data version of its batch",
        """
        ALTER TABLE observations ADD COLUMN batch_seq INTEGER;
        CREATE INDEX observations_by_segment_batch ON observations (segment_id, batch_seq);
        """,
    ),
]

# The same schema in PostgreSQL's types (BYTEA, DOUBLE PRECISION, BIGINT milliseconds).
POSTGRES_MIGRATIONS: list[tuple[int, str, str]] = [
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
            length_km     DOUBLE PRECISION NOT NULL CHECK (length_km > 0),
            free_flow_kph DOUBLE PRECISION NOT NULL CHECK (free_flow_kph > 0),
            UNIQUE (highway_id, direction, position)
        );
        CREATE TABLE observations (
            sensor_id      TEXT NOT NULL,
            observed_at_ms BIGINT NOT NULL,
            segment_id     TEXT NOT NULL REFERENCES segments(id),
            speed_kph      DOUBLE PRECISION NOT NULL,
            received_at_ms BIGINT NOT NULL,
            PRIMARY KEY (sensor_id, observed_at_ms)
        );
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
            digest_secret BYTEA,
            cert_subject  TEXT UNIQUE,
            created_at    DOUBLE PRECISION NOT NULL
        );
        """,
    ),
    (
        3,
        "data version counter (response caches of every process) and digest key ids",
        """
        CREATE TABLE data_version (
            id      INTEGER PRIMARY KEY CHECK (id = 1),
            version BIGINT NOT NULL
        );
        INSERT INTO data_version (id, version) VALUES (1, 0);
        ALTER TABLE accounts ADD COLUMN digest_key_id TEXT;
        """,
    ),
    (
        4,
        "network versions: retired highways and segments, a network version counter",
        """
        ALTER TABLE highways ADD COLUMN retired INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE segments ADD COLUMN retired INTEGER NOT NULL DEFAULT 0;
        CREATE TABLE network_version (
            id      INTEGER PRIMARY KEY CHECK (id = 1),
            version BIGINT NOT NULL
        );
        INSERT INTO network_version (id, version) VALUES (1, 0);
        """,
    ),
    (
        5,
        "observations by time (retention deletes the oldest in small chunks)",
        """
        CREATE INDEX observations_by_time ON observations (observed_at_ms);
        """,
    ),
    (
        6,
        "constant-cost reads: a covering index for the speed window, per-highway data versions",
        """
        CREATE INDEX observations_by_segment_time_speed
            ON observations (segment_id, observed_at_ms, speed_kph);
        DROP INDEX observations_by_segment_time;
        CREATE TABLE highway_data_version (
            highway_id TEXT PRIMARY KEY,
            version    BIGINT NOT NULL
        );
        """,
    ),
    (
        7,
        "incremental speed windows: each stored row carries the data version of its batch",
        """
        ALTER TABLE observations ADD COLUMN batch_seq BIGINT;
        CREATE INDEX observations_by_segment_batch ON observations (segment_id, batch_seq);
        """,
    ),
]
