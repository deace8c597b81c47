"""Issue 14: running servers serve a newly imported network without a restart, on both
engines: by polling the network version (--network-check-seconds) and on SIGHUP."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import pytest

from client import HighwayClient
from soap_service.store import sample_network
from tests.conftest import ROOT, RunningServer, start_server

T = TypeVar("T")


def wait_until(probe: Callable[[], T | None], timeout: float = 20.0) -> T:
    """Poll `probe` until it returns something truthy (no fixed sleep decides the outcome)."""
    deadline = time.monotonic() + timeout
    while True:
        result = probe()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.1)


def changed_network(path: Path) -> Path:
    """The sample plus highway 9, with 192 EB cut to its first two segments."""
    lines = sample_network.sample_text().splitlines()
    kept = [ln for ln in lines if not ln.startswith("192,") or ",EB," not in ln
            or ln.split(",")[4] in ("192-EB-01", "192-EB-02")]
    # Highway names contain commas only when quoted; the sample's have none.
    kept += ["9,Nine,NB,1,9-NB-01,North End,Middle,1.5,100",
             "9,Nine,NB,2,9-NB-02,Middle,South End,2.5,100"]
    path.write_text("\n".join(kept) + "\n", "utf-8")
    return path


def import_network(db: str, path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "soap_service", "network", "import", str(path),
                           "--db", db], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert done.returncode == 0, done.stderr


def served(server: RunningServer) -> tuple[list[str], list[str]]:
    """Highway ids from ListHighways, segment ids of 192 EB from GetTravelTimes."""
    with HighwayClient(url=server.url, timeout=10) as client:
        ids = [h.id for h in client.list_highways()]
        (eb,) = client.travel_times("192", "EB")
        return ids, [s.segment_id for s in eb.segments]


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database URL of each engine (servers load the sample into it)."""
    if request.param == "sqlite":
        return str(tmp_path / "live.db")
    postgres = request.getfixturevalue("postgres")
    return str(postgres.create_database(f"live{int(time.time() * 1000) % 10**9}"))


def test_an_import_is_served_by_every_running_server(tmp_path: Path, db: str) -> None:
    # Two servers on one database: two processes (or two machines, on PostgreSQL).
    servers = [start_server(tmp_path, "--no-require-auth", "--network-check-seconds", "0.5",
                            db=db) for _ in range(2)]  # type: ignore[arg-type]
    try:
        for server in servers:
            ids, eb = served(server)  # caches the answers of the old network
            assert ids == ["192", "217", "225"] and len(eb) == 6
        import_network(db, changed_network(tmp_path / "changed.csv"))
        for server in servers:
            ids, eb = wait_until(lambda s=server: (r := served(s))[0] != ["192", "217", "225"]
                                 and r)  # type: ignore[misc]
            assert ids == ["9", "192", "217", "225"]
            assert eb == ["192-EB-01", "192-EB-02"]
            with HighwayClient(url=server.url, timeout=10) as client:
                (nb,) = client.travel_times("9", "NB")
                assert [s.from_name for s in nb.segments] == ["North End", "Middle"]
            assert "serving network version 2" in server.log_text()
    finally:
        for server in servers:
            server.stop()


def test_sighup_reloads_the_network(tmp_path: Path) -> None:
    db = tmp_path / "hup.db"
    # No periodic check: only SIGHUP can make it serve the new network.
    server = start_server(tmp_path, "--no-require-auth", "--network-check-seconds", "0", db=db)
    try:
        assert served(server)[0] == ["192", "217", "225"]
        import_network(str(db), changed_network(tmp_path / "changed.csv"))
        assert served(server)[0] == ["192", "217", "225"]  # not polled: still the old one
        server.process.send_signal(signal.SIGHUP)
        ids, eb = wait_until(lambda: (r := served(server))[0] != ["192", "217", "225"] and r)
        assert ids == ["9", "192", "217", "225"] and eb == ["192-EB-01", "192-EB-02"]
        assert "serving network version 2" in server.log_text()
    finally:
        server.stop()
