"""Issue 14: `highway-server network import|export` on both engines: every error in one pass
with line and column, atomic imports as new network versions, retired segments, round trips."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

import pytest

from soap_service.cli import main
from soap_service.contract.limits import contract_limits
from soap_service.domain import Direction, Observation
from soap_service.store import database, network_db, sample_network
from soap_service.store.network_csv import CSV_HEADER, NetworkFileError, parse_network
from soap_service.store.traffic_store import InvalidObservation, open_traffic_store

T = TypeVar("T")
_LOOP = asyncio.new_event_loop()  # one loop for the module: an async pool belongs to its loop
NOW = dt.datetime(2026, 11, 24, 12, 0, tzinfo=dt.UTC)


def run(coro: Coroutine[Any, Any, T]) -> T:
    return _LOOP.run_until_complete(coro)


def cli(*args: str) -> int:
    """Run `highway-server ARGS` in this process; its exit code."""
    return main(list(args))


def rows(*lines: str) -> str:
    """A network file: the header and `lines`."""
    return "\n".join([CSV_HEADER, *lines]) + "\n"


def export_text(db_url: str, tmp_path: Path, name: str = "out.csv") -> str:
    out = tmp_path / name
    assert cli("network", "export", str(out), "--db", db_url) == 0
    return out.read_text("utf-8")


def version_of(db_url: str) -> int:
    conn = database.connect(db_url)
    try:
        return network_db.read_version(conn)
    finally:
        conn.close()


def test_the_sample_round_trips_byte_equal(db_url: str, tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    sample = tmp_path / "sample.csv"
    sample.write_text(sample_network.sample_text(), "utf-8")
    assert cli("network", "import", str(sample), "--db", db_url) == 0
    assert "network version 1: 3 highways, 38 segments (38 added" in capsys.readouterr().out
    exported = export_text(db_url, tmp_path)
    assert exported.encode() == sample.read_bytes()
    # export -> import -> export: the same bytes, a new version with nothing changed.
    again = tmp_path / "again.csv"
    again.write_text(exported, "utf-8")
    assert cli("network", "import", str(again), "--db", db_url) == 0
    assert "version 2" in capsys.readouterr().out and version_of(db_url) == 2
    assert export_text(db_url, tmp_path, "third.csv") == exported
    # Standard output too.
    assert cli("network", "export", "-", "--db", db_url) == 0
    assert capsys.readouterr().out == exported


def test_every_error_is_reported_at_once_and_nothing_changes(
        db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sample = tmp_path / "sample.csv"
    sample.write_text(sample_network.sample_text(), "utf-8")
    assert cli("network", "import", str(sample), "--db", db_url) == 0
    before = export_text(db_url, tmp_path)
    bad = tmp_path / "bad.csv"
    bad.write_text(rows(
        "5,Five,XB,1,5-EB-1,A,B,1,100",         # 2: unknown direction
        "5,Fiver,EB,1,5-EB-1,A,,-1,abc",        # 3: name, duplicate id, empty, <= 0, number
        "6,Six,NB,2,6-NB-2,A,B,1,1",            # 4: seq starts at 2
        "7,Seven,SB,1,7-SB-1,A,B,1,0",          # 5: speed 0
        "7,Seven,SB,1,7-SB-2,A,B,1,10",         # 6: duplicate seq
        "7,Seven,SB,x,7-SB-3,A,B,1,10",         # 7: seq not a number
        "8,Eight,EB,1,-bad,A,B,nan,10",         # 8: contract pattern, not a number
        "9",                                    # 9: field count
        "10,Ten,WB,1,10-WB-1,A,B,1,10",
        "10,Ten,WB,3,10-WB-3,A,B,1,10",         # 11: gap
    ), "utf-8")
    assert cli("network", "import", str(bad), "--db", db_url) == 2
    err = capsys.readouterr().err
    expected = [
        "line 2, column direction: unknown direction 'XB'",
        "line 3, column highway_name: highway 5 is named 'Five' on line 2",
        "line 3, column segment_id: duplicate segment id '5-EB-1' (first on line 2)",
        "line 3, column to_name: empty",
        "line 3, column length_km: must be greater than 0",
        "line 3, column free_flow_kph: 'abc' is not a number",
        "line 4, column seq: gap in highway 6 NB: seq starts at 2",
        "line 5, column free_flow_kph: must be greater than 0",
        "line 6, column seq: duplicate seq 1 in highway 7 SB (first on line 5)",
        "line 7, column seq: 'x' is not a whole number",
        "line 8, column segment_id: '-bad' does not match the pattern",
        "line 8, column length_km: 'nan' is not a number",
        "line 9: 1 fields; every row has 9",
        "line 11, column seq: gap in highway 10 WB: seq jumps from 1 to 3",
    ]
    for text in expected:
        assert text in err, (text, err)
    assert f"{len(expected)} error(s), nothing changed" in err
    assert "Traceback" not in err
    assert export_text(db_url, tmp_path, "after.csv") == before and version_of(db_url) == 1


@pytest.mark.parametrize("content, message", [
    ("", "line 1: the file is empty"),
    ("highway_id,name\n", "line 1: wrong header 'highway_id,name'; expected exactly"),
    (CSV_HEADER + "\n", "line 1: no segments"),
])
def test_empty_files_and_wrong_headers(tmp_path: Path, content: str, message: str,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "n.csv"
    path.write_text(content, "utf-8")
    assert cli("network", "import", str(path), "--db", str(tmp_path / "n.db")) == 2
    assert message in capsys.readouterr().err


def test_files_that_are_not_text_or_missing(tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "latin1.csv"
    path.write_bytes(rows("5,Caf\xe9,EB,1,5-EB-1,A,B,1,100").encode("latin-1"))
    assert cli("network", "import", str(path), "--db", str(tmp_path / "n.db")) == 2
    assert "line 2: not UTF-8 text; nothing changed" in capsys.readouterr().err
    assert cli("network", "import", str(tmp_path / "nope.csv"), "--db",
               str(tmp_path / "n.db")) == 2
    assert "cannot read" in capsys.readouterr().err


def test_a_network_larger_than_the_contract_names_the_limit() -> None:
    limits = contract_limits()
    many = rows(*(f"{n},H{n},EB,1,{n}-EB-1,A,B,1,100"
                  for n in range(1, limits.max_highways + 2)))
    with pytest.raises(NetworkFileError) as info:
        parse_network(many)
    (problem,) = info.value.problems
    assert problem.line == limits.max_highways + 2 and problem.column == "highway_id"
    assert f"at most {limits.max_highways} highways" in str(problem)
    assert "ListHighwaysResponse/highway maxOccurs, contract/limits.py" in str(problem)
    long = rows(*(f"1,One,EB,{n},1-EB-{n},A,B,1,100"
                  for n in range(1, limits.max_segments_per_direction + 2)))
    with pytest.raises(NetworkFileError) as info:
        parse_network(long)
    (problem,) = info.value.problems
    assert f"at most {limits.max_segments_per_direction} per direction" in str(problem)
    assert "DirectionTravelTime/segment maxOccurs" in str(problem)
    assert problem.line == limits.max_segments_per_direction + 2
    # Names the contract's PlaceName cannot hold.
    too_long = "x" * ((limits.place_name.max_length or 0) + 1)
    with pytest.raises(NetworkFileError) as info:
        parse_network(rows(f"1,One,EB,1,1-EB-1,{too_long},B,1,100"))
    assert "column from_name" in str(info.value.problems[0])
    assert "contract type PlaceName" in str(info.value.problems[0])


def test_a_changed_network_is_a_new_version_and_removed_segments_are_retired(
        db_url: str, tmp_path: Path) -> None:
    serving = open_traffic_store(db_url, clock=NOW.timestamp)  # loads the sample (version 1)
    assert serving.network_version == 1
    at = NOW - dt.timedelta(minutes=1)
    result = run(serving.report([Observation("s1", "192-EB-01", at, 30.0),
                                 Observation("s2", "225-NB-01", at, 40.0)]))
    assert result.accepted == 2
    # Highway 225 removed, 192 EB reversed (positions swap under the unique key), 217's
    # first segment moved to a new highway 5, a new highway 9 added.
    highways = {hw.id: hw for hw in sample_network.sample_highways()}
    lines = []
    for hid in ("192", "217"):
        hw = highways[hid]
        for direction in hw.directions:
            segs = list(hw.segments[direction])
            if (hid, direction) == ("192", Direction.EB):
                segs.reverse()
            if (hid, direction) == ("217", Direction.NB):
                segs = segs[1:]
            lines += [f"{hid},{hw.name},{direction.value},{seq},{s.id},{s.from_name},"
                      f"{s.to_name},{s.length_km},{s.free_flow_kph}"
                      for seq, s in enumerate(segs, start=1)]
    lines.append("5,Five,EB,1,217-NB-01,Here,There,2.5,90")
    lines.append("9,Nine,NB,1,9-NB-01,North,South,1,100")
    changed = tmp_path / "changed.csv"
    changed.write_text(rows(*lines), "utf-8")
    assert cli("network", "import", str(changed), "--db", db_url) == 0
    assert version_of(db_url) == 2

    assert run(serving.reload_network()) is True
    assert run(serving.reload_network()) is False  # nothing new
    # Cached answers and board pages are keyed on the network served, too.
    assert run(serving.answer_version())[2] == serving.network_version == 2
    assert [h.id for h in serving.highways()] == ["5", "9", "192", "217"]
    eb = serving.highway("192").segments[Direction.EB]
    assert [s.id for s in eb] == [f"192-EB-{n:02d}" for n in range(6, 0, -1)]
    assert serving.highway("5").segments[Direction.EB][0].from_name == "Here"
    (tt,) = run(serving.travel_times("192", Direction.EB))
    assert tt.segments[-1].segment.id == "192-EB-01" and tt.segments[-1].speed_kph == 30.0
    # 225 is no longer served: unknown to reads and to ReportObservations ...
    with pytest.raises(LookupError):
        serving.highway("225")
    with pytest.raises(InvalidObservation) as info:
        run(serving.report([Observation("s3", "225-NB-01", at, 40.0)]))
    assert info.value.kind == "unknown-segment"
    # ... but its rows and observations are kept (retention deletes them in time).
    conn = database.connect(db_url)
    retired = conn.execute("SELECT retired FROM segments WHERE id = '225-NB-01'").fetchone()
    kept = conn.execute("SELECT COUNT(*) FROM observations WHERE segment_id = '225-NB-01'")
    assert retired[0] == 1 and kept.fetchone()[0] == 1
    conn.close()
    # Importing the sample again brings 225 back with its history.
    sample = tmp_path / "sample.csv"
    sample.write_text(sample_network.sample_text(), "utf-8")
    assert cli("network", "import", str(sample), "--db", db_url) == 0
    assert run(serving.reload_network()) is True
    (nb,) = run(serving.travel_times("225", Direction.NB))
    assert nb.segments[0].speed_kph == 40.0
    assert export_text(db_url, tmp_path) == sample_network.sample_text()
    run(serving.engine.close())


def test_an_import_is_atomic(db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    conn = database.connect(db_url)
    sample_network.load_if_empty(conn)
    before = network_db.read_highways(conn)
    engine = database.engine_of(conn)

    class FailsOnSegments:
        """The connection, failing the segment insert (after highways were written)."""

        def execute(self, sql: str, params: Any = ()) -> Any:
            return conn.execute(sql, params)

        def executemany(self, sql: str, params: Any) -> Any:
            if "INSERT INTO segments" in sql:
                raise RuntimeError("disk on fire")
            return conn.executemany(sql, params)

    new = parse_network(rows("5,Five,EB,1,5-EB-1,A,B,1,100"))
    with monkeypatch.context() as patch:
        patch.setattr(database, "engine_of", lambda _conn: engine)
        with pytest.raises(RuntimeError, match="disk on fire"):
            network_db.import_network(FailsOnSegments(), new)  # type: ignore[arg-type]
    assert network_db.read_highways(conn) == before and network_db.read_version(conn) == 1
    conn.close()


def test_network_check_and_retention_settings_are_validated(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from soap_service.settings import duration_seconds

    assert duration_seconds("8d") == 8 * 86400 and duration_seconds("36h") == 36 * 3600
    assert duration_seconds("off") is None and duration_seconds("1.5w") == 1.5 * 7 * 86400
    for bad in ("8", "d", "-1d", "0h", "8 days"):
        with pytest.raises(ValueError):
            duration_seconds(bad)
    assert cli("serve", "--retention", "soon", "--db", str(tmp_path / "x.db")) == 2
    assert "retention" in capsys.readouterr().err


def test_a_stored_network_the_contract_cannot_describe_is_not_served(
        db_url: str, caplog: pytest.LogCaptureFixture) -> None:
    from soap_service.store.network_watch import NetworkWatcher

    serving = open_traffic_store(db_url, clock=NOW.timestamp)
    cleared: list[bool] = []
    watcher = NetworkWatcher(serving, None, 1.0, on_change=lambda: cleared.append(True))
    conn = database.connect(db_url)
    with database.transaction(conn):  # written around the import command's checks
        conn.execute("INSERT INTO highways (id, name) VALUES ('77777', 'Too long an id')")
        conn.execute("INSERT INTO segments (id, highway_id, direction, position, from_name,"
                     " to_name, length_km, free_flow_kph) VALUES ('x-1', '77777', 'EB', 1, 'A',"
                     " 'B', 1, 100)")
        conn.execute("UPDATE network_version SET version = version + 1")
    conn.close()
    assert run(watcher.reload()) is False
    assert "network not reloaded, still serving version 1" in caplog.text
    assert "HighwayId" in caplog.text
    assert [h.id for h in serving.highways()] == ["192", "217", "225"] and not cleared
    run(serving.engine.close())


def test_db_copy_keeps_retired_segments_retired(db_url: str, tmp_path: Path) -> None:
    from soap_service.commands.db import copy_database

    source = f"sqlite:///{tmp_path / 'source.db'}"
    conn = database.connect(source)
    sample_network.load_if_empty(conn)
    conn.close()
    smaller = tmp_path / "smaller.csv"
    smaller.write_text("".join(ln + "\n" for ln in sample_network.sample_text().splitlines()
                               if not ln.startswith("225,")), "utf-8")
    assert cli("network", "import", str(smaller), "--db", source) == 0
    copy_database(source, db_url)
    assert export_text(db_url, tmp_path, "copied.csv") == smaller.read_text("utf-8")
    assert version_of(db_url) == 3  # above the source's 2: servers on it reload
    copied = database.connect(db_url)
    retired = copied.execute("SELECT COUNT(*) FROM segments WHERE retired = 1").fetchone()[0]
    copied.close()
    assert retired == 14
