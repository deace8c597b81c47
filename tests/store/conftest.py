"""Fixtures: one PostgreSQL server per session, and `db_url` parametrized over both engines."""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.store.pg_proc import PostgresProcess, pg_bindir

_names = itertools.count(1)


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresProcess]:
    """A real PostgreSQL (Debian's postgresql package), started once for the session."""
    bindir = pg_bindir()
    if bindir is None:
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL binaries missing (.ci/setup installs postgresql)")
        pytest.skip("PostgreSQL is not installed (apt-get install postgresql)")
    server = PostgresProcess(bindir)
    server.start()
    try:
        yield server
    finally:
        server.cleanup()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty database of each engine."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    server: PostgresProcess = request.getfixturevalue("postgres")
    return server.create_database(f"t{os.getpid()}_{next(_names)}")
