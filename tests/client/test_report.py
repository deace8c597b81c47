"""`highway-client report`: whole-file validation, batches, interruption and safe resumption."""

from __future__ import annotations

import datetime as dt
import json
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from client.cli import main
from tests.conftest import ROOT

SAMPLE = ROOT / "samples" / "observations.csv"


def write_csv(path: Path, count: int, *, segment: str = "192-EB-02") -> Path:
    """`count` valid rows from the last minutes."""
    base = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(minutes=30)
    lines = ["sensor_id,segment_id,observed_at,speed_kph"]
    for i in range(count):
        at = base + dt.timedelta(seconds=i)
        lines.append(f"s-{i % 7},{segment},{at:%Y-%m-%dT%H:%M:%SZ},{40 + i % 30}.5")
    path.write_text("\n".join(lines) + "\n")
    return path


def stored(db: Path) -> tuple[int, int]:
    """(rows, distinct (sensor, time) pairs) in the observations table."""
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT COUNT(*), COUNT(DISTINCT sensor_id || observed_at_ms) "
                            "FROM observations").fetchone()


def report(server, *args: str) -> int:
    return main(["--url", server.url, "--json", "report", *args])


def test_sample_file_uploads_in_batches_of_1000(open_server, capsys) -> None:
    assert main(["--url", open_server.url, "report", str(SAMPLE), "--shift-to-now",
                 "--restart"]) == 0
    out = capsys.readouterr().out
    assert out.strip() == "accepted 1520, duplicates 0 (1520 rows, 2/2 batches)"
    assert stored(open_server.db_path) == (1520, 1520)
    assert not Path(str(SAMPLE) + ".progress").exists()


def test_interrupted_upload_resumes_after_the_last_acknowledged_batch(
    server_factory, tmp_path: Path, capsys
) -> None:
    csv_file = write_csv(tmp_path / "obs.csv", 45)
    progress = Path(str(csv_file) + ".progress")
    server = server_factory("--no-require-auth")
    assert report(server, str(csv_file), "--batch-size", "10", "--max-batches", "2") == 0
    first = json.loads(capsys.readouterr().out)
    assert (first["batches_done"], first["batches"], first["complete"]) == (2, 5, False)
    assert json.loads(progress.read_text())["batches_done"] == 2

    # The service goes away: the next run fails without losing what is known to be stored.
    server.stop()
    assert report(server, str(csv_file), "--batch-size", "10") == 4
    assert "cannot reach" in capsys.readouterr().err
    assert json.loads(progress.read_text())["batches_done"] == 2

    restarted = server_factory("--no-require-auth", db=server.db_path)
    assert report(restarted, str(csv_file), "--batch-size", "10") == 0
    done = json.loads(capsys.readouterr().out)
    assert done == {"rows": 45, "batches": 5, "batches_done": 5, "accepted": 45,
                    "duplicates": 0, "complete": True, "resumed_after_batch": 2}
    assert stored(server.db_path) == (45, 45)
    assert not progress.exists()


def test_server_killed_mid_upload_then_resumed(server_factory, tmp_path: Path) -> None:
    csv_file = write_csv(tmp_path / "obs.csv", 60)
    progress = Path(str(csv_file) + ".progress")
    # Each operation waits 0.3 s, so the upload is still running when the server is killed.
    server = server_factory("--no-require-auth", operation_delay=0.3)
    upload = subprocess.Popen(
        [sys.executable, "-m", "client", "--url", server.url, "--timeout", "5", "report",
         str(csv_file), "--batch-size", "10"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    while not progress.exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    server.stop(signal.SIGKILL)
    out, err = upload.communicate(timeout=60)
    assert upload.returncode == 4, (out, err)
    assert "run the same command again to resume" in err
    done_before = json.loads(progress.read_text())["batches_done"]
    assert 1 <= done_before < 6

    restarted = server_factory("--no-require-auth", db=server.db_path)
    resumed = subprocess.run(
        [sys.executable, "-m", "client", "--url", restarted.url, "--json", "report",
         str(csv_file), "--batch-size", "10"],
        cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert resumed.returncode == 0, resumed.stderr
    summary = json.loads(resumed.stdout)
    assert summary["resumed_after_batch"] == done_before and summary["complete"]
    # A batch in flight at the kill may or may not have been stored: either way, once.
    assert summary["accepted"] + summary["duplicates"] == 60
    assert stored(server.db_path) == (60, 60)


def test_a_batch_stored_but_not_acknowledged_is_counted_as_duplicates(
    open_server, tmp_path: Path, capsys
) -> None:
    csv_file = write_csv(tmp_path / "obs.csv", 25)
    progress = Path(str(csv_file) + ".progress")
    assert report(open_server, str(csv_file), "--batch-size", "10", "--max-batches", "2") == 0
    capsys.readouterr()
    # As if the connection dropped after the service committed batch 2, before the answer.
    state = json.loads(progress.read_text())
    state.update(batches_done=1, accepted=10)
    progress.write_text(json.dumps(state))
    assert report(open_server, str(csv_file), "--batch-size", "10") == 0
    summary = json.loads(capsys.readouterr().out)
    assert (summary["accepted"], summary["duplicates"]) == (15, 10)
    assert stored(open_server.db_path) == (25, 25)  # every row exactly once


def test_restart_ignores_progress(open_server, tmp_path: Path, capsys) -> None:
    csv_file = write_csv(tmp_path / "obs.csv", 12)
    assert report(open_server, str(csv_file), "--batch-size", "5", "--max-batches", "1") == 0
    capsys.readouterr()
    assert report(open_server, str(csv_file), "--batch-size", "5", "--restart") == 0
    summary = json.loads(capsys.readouterr().out)
    assert (summary["accepted"], summary["duplicates"], summary["resumed_after_batch"]) == (7, 5, 0)


def test_malformed_rows_are_reported_by_line_and_nothing_is_sent(
    open_server, tmp_path: Path, capsys
) -> None:
    csv_file = write_csv(tmp_path / "obs.csv", 30)
    lines = csv_file.read_text().splitlines()
    lines[4] = "s-1,192-EB-02,2026-01-01T00:00:00,50"  # line 5: no time zone
    lines[9] = "s-2,192-EB-02," + lines[9].split(",")[2] + ",fast"  # line 10
    lines[20] = "s-3,192-EB-02," + lines[20].split(",")[2] + ",301"  # line 21
    csv_file.write_text("\n".join(lines) + "\n")
    assert report(open_server, str(csv_file), "--batch-size", "10") == 2
    err = capsys.readouterr().err
    assert "3 malformed row(s), nothing was sent" in err
    assert "line 5: observed_at" in err and "line 10: speed_kph 'fast'" in err
    assert "line 21: speed_kph 301 is outside 0..300" in err
    assert stored(open_server.db_path) == (0, 0)


def test_unknown_segment_is_refused_by_the_service_with_its_line(
    open_server, tmp_path: Path, capsys
) -> None:
    csv_file = write_csv(tmp_path / "obs.csv", 15)
    lines = csv_file.read_text().splitlines()
    lines[12] = lines[12].replace("192-EB-02", "192-XX-99")
    csv_file.write_text("\n".join(lines) + "\n")
    # Segment ids are checked by the service (no read per highway first): the batch holding
    # line 13 is refused whole, the batches before it are stored, the upload can resume.
    assert report(open_server, str(csv_file), "--batch-size", "5") == 3
    err = capsys.readouterr().err
    assert "line 13: the service refused the batch" in err and "UnknownSegment" in err
    assert stored(open_server.db_path) == (10, 10)


def test_every_unknown_segment_is_named_in_one_run(open_server, tmp_path: Path,
                                                   capsys) -> None:
    """The service refuses the first; the same run then names every other unknown id of what
    was not stored (one pass over the file), so the operator fixes them all at once."""
    csv_file = write_csv(tmp_path / "obs.csv", 30)
    lines = csv_file.read_text().splitlines()
    for index in (8, 17, 18, 29):  # lines 9, 18, 19, 30
        lines[index] = lines[index].replace("192-EB-02", f"NOPE-{index}")
    csv_file.write_text("\n".join(lines) + "\n")
    assert report(open_server, str(csv_file), "--batch-size", "5") == 3
    err = capsys.readouterr().err
    assert "line 9: the service refused the batch" in err
    for line, index in ((9, 8), (18, 17), (19, 18), (30, 29)):
        assert f"line {line}: unknown segment 'NOPE-{index}'" in err, err
    assert stored(open_server.db_path) == (5, 5)  # the batch before line 9


@pytest.mark.parametrize("size", ["0", "1001"])
def test_batch_size_is_at_most_1000(size: str, capsys) -> None:
    with pytest.raises(SystemExit):
        main(["report", "x.csv", "--batch-size", size])
    assert "between 1 and 1000" in capsys.readouterr().err
