"""`highway-server db migrate|check|backup|copy` as a user runs them."""

from __future__ import annotations

import asyncio
import datetime as dt
import sqlite3
import subprocess
import sys
from pathlib import Path

from soap_service.domain import Observation
from soap_service.security.account_directory import AccountDirectory
from soap_service.security.accounts import AccountStore
from soap_service.store import database
from soap_service.store.traffic_store import open_traffic_store
from tests.conftest import ROOT
from tests.store.pg_proc import PostgresProcess


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "soap_service", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)


def _seeded_sqlite(path: Path, rows: int) -> str:
    url = f"sqlite:///{path}"
    store = open_traffic_store(url)
    at = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
    batch = [Observation(f"s{i}", "217-NB-01", at, 40.0) for i in range(rows)]
    asyncio.run(store.report(batch))
    AccountStore(database.connect(url)).add("copyme", "operator", password="correct horse")
    return url


def test_migrate_and_check(tmp_path: Path) -> None:
    db = str(tmp_path / "m.db")
    done = cli("db", "migrate", "--db", db)
    from soap_service.store.migrations import MIGRATIONS

    assert done.returncode == 0 and f"schema version 0 -> {MIGRATIONS[-1][0]}" in done.stdout
    checked = cli("db", "check", "--db", db)
    assert checked.returncode == 0, checked.stderr
    assert "0 pending, integrity ok" in checked.stdout


def test_check_reads_the_database_from_the_config_file(tmp_path: Path) -> None:
    db = tmp_path / "c.db"
    config = tmp_path / "highway.toml"
    config.write_text(f'[core]\ndb = "{db}"\n')
    assert cli("db", "migrate", "--config", str(config)).returncode == 0
    assert db.exists()


def test_backup_is_a_consistent_copy(tmp_path: Path) -> None:
    url = _seeded_sqlite(tmp_path / "live.db", 25)
    backup = tmp_path / "backup.db"
    done = cli("db", "backup", str(backup), "--db", url)
    assert done.returncode == 0, done.stderr
    assert "25 observations" in done.stdout
    with sqlite3.connect(backup) as conn:
        assert conn.execute("SELECT COUNT(*) FROM observations").fetchone()[0] == 25


def test_copy_sqlite_to_postgresql_moves_data_and_accounts(
    tmp_path: Path, postgres: PostgresProcess
) -> None:
    source = _seeded_sqlite(tmp_path / "old.db", 120)
    destination = postgres.create_database("moved")
    done = cli("db", "copy", "--from", source, "--to", destination)
    assert done.returncode == 0, done.stderr
    assert "observations: 120" in done.stdout and "accounts: 1" in done.stdout
    assert "(verified)" in done.stdout
    account, count = _inspect(destination)
    assert account is not None and account.role == "operator"
    assert count == 120
    again = cli("db", "copy", "--from", source, "--to", destination)
    assert again.returncode == 2 and "not empty" in again.stderr  # nothing copied twice
    assert _inspect(destination)[1] == 120


def _inspect(url: str) -> tuple[object, int]:
    """The copied account and the observation count, read in one event loop (an async pool
    belongs to the loop it was opened on), the store closed afterwards."""
    moved = open_traffic_store(url)

    async def read() -> tuple[object, int]:
        try:
            account = await AccountDirectory(moved.engine).get("copyme")
            return account, await moved.observation_count()
        finally:
            await moved.engine.close()

    return asyncio.run(read())
