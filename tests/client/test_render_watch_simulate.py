"""Travel-time tables (colour on a terminal only), --json, --watch, and `simulate`."""

from __future__ import annotations

import datetime as dt
import io
import json
import re
import sqlite3

import pytest
from rich.text import Text

from client import HighwayClient
from client.cli import main
from client.models import DirectionTravelTime, SegmentTravelTime
from client.render import format_travel_times, use_colour

AT = dt.datetime(2026, 1, 15, 7, 30, tzinfo=dt.UTC)


def _segment(seg_id: str, congestion: str, speed: float, stale: bool = False) -> SegmentTravelTime:
    return SegmentTravelTime(seg_id, "A", "B", 2.0, speed, 2.0 / speed * 60, 1.5, congestion,
                             None if stale else AT, stale)


def _direction() -> DirectionTravelTime:
    return DirectionTravelTime("192", "EB", AT, 9.5, 4.5, (
        _segment("192-EB-01", "FREE", 80), _segment("192-EB-02", "HEAVY", 25),
        _segment("192-EB-03", "FREE", 80, stale=True)))


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_colour_only_on_a_terminal_without_no_color(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm")
    assert use_colour(_Tty()) and not use_colour(io.StringIO())
    monkeypatch.setenv("NO_COLOR", "1")
    assert not use_colour(_Tty())


def test_table_is_aligned_and_coloured_by_congestion() -> None:
    plain = format_travel_times([_direction()])
    assert "\033" not in plain
    assert plain.splitlines()[0] == ("Highway 192 EB: 9.5 min (free flow 4.5 min, delay +5.0) "
                                     "as of 2026-01-15 07:30:00Z")
    rows = plain.splitlines()[3:]
    assert [r.split()[-1] for r in rows] == ["FREE", "HEAVY", "data"]  # "no data" when stale
    header = plain.splitlines()[1]
    assert {header.index("STATUS"), rows[0].index("FREE"), rows[1].index("HEAVY"),
            rows[2].index("no data")} == {header.index("STATUS")}  # columns line up
    coloured = format_travel_times([_direction()], colour=True)
    assert "\033[31mHEAVY" in coloured and "\033[32mFREE" in coloured  # rich's red, green
    assert "\033[2mno data" in coloured  # stale: dim
    strip = re.sub(r"\033\[[0-9;]*m", "", coloured).replace("\u2500", "-")
    assert [line.rstrip() for line in strip.splitlines()] == plain.splitlines()


def test_highways_table_is_rich_and_plain_when_piped() -> None:
    from client.models import HighwaySummary
    from client.render import format_highways

    text = format_highways([HighwaySummary("192", "US 192", ("EB", "WB"), 31.0, 12)])
    header, rule, row = text.splitlines()
    assert header.split() == ["ID", "NAME", "DIRECTIONS", "KM", "SEGMENTS"]
    assert set(rule) == {"-"}
    assert row.split() == ["192", "US", "192", "EB/WB", "31.0", "12"]
    assert text.isascii()


def test_console_respects_no_color_and_pipes(monkeypatch: pytest.MonkeyPatch) -> None:
    from client.render import console_for

    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm-256color")
    tty = _Tty()
    console_for(tty).print(Text("HEAVY", style="red"))
    assert "\033[" in tty.getvalue()
    pipe = io.StringIO()
    console_for(pipe).print(Text("HEAVY", style="red"))
    assert pipe.getvalue() == "HEAVY\n"
    monkeypatch.setenv("NO_COLOR", "1")
    no_colour = _Tty()
    console_for(no_colour).print(Text("HEAVY", style="red"))
    assert "\033[31m" not in no_colour.getvalue() and "HEAVY" in no_colour.getvalue()


def test_piped_output_is_plain_and_json_is_json(open_server, capsys) -> None:
    assert main(["--url", open_server.url, "travel-times", "Highway 192", "--direction", "EB"]) == 0
    out = capsys.readouterr().out
    assert "\033" not in out and out.startswith("Highway 192 EB:")
    assert main(["--url", open_server.url, "travel-times", "192", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [d["direction"] for d in data] == ["EB", "WB"]
    assert data[0]["segments"][0]["segment_id"] == "192-EB-01"


def test_watch_refreshes(open_server, capsys) -> None:
    argv = ["--url", open_server.url, "travel-times", "217", "--direction", "NB",
            "--watch", "0.05", "--iterations", "2"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert out.count("Highway 217 NB:") == 2 and out.count("refreshed ") == 2
    assert "\033" not in out  # not a terminal: no screen clearing
    assert main(["--json", *argv]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 and all(json.loads(line)[0]["highway"] == "217" for line in lines)


def test_simulate_feeds_changing_traffic(open_server, capsys) -> None:
    assert main(["--url", open_server.url, "simulate", "--highway", "Highway 192",
                 "--ticks", "4", "--interval", "0.01", "--seed", "7"]) == 0
    out = capsys.readouterr().out
    assert out.count("tick ") == 4
    assert "simulation done: 48 observations accepted on highway 192" in out
    with sqlite3.connect(open_server.db_path) as db:
        per_segment = db.execute("SELECT segment_id, COUNT(*) FROM observations "
                                 "GROUP BY segment_id").fetchall()
    assert len(per_segment) == 12 and {count for _, count in per_segment} == {4}
    with HighwayClient(url=open_server.url) as client:
        directions = client.travel_times("192")
    segments = [s for d in directions for s in d.segments]
    assert not any(s.stale for s in segments)
    assert any(s.congestion in ("HEAVY", "STOPPED") for s in segments)  # the jam
    assert any(s.congestion == "FREE" for s in segments)  # and free road around it
    assert all(d.total_minutes > d.free_flow_minutes for d in directions)


def test_watch_stops_on_permanent_fault_and_ctrl_c_is_130(open_server) -> None:
    import io

    from client import errors as client_errors
    from client.watch import watch

    assert main(["--url", open_server.url, "travel-times", "ASDFGHJ",
                 "--watch", "0.01", "--iterations", "50"]) == 3

    def interrupted() -> str:
        raise KeyboardInterrupt

    assert watch(interrupted, 0.01, io.StringIO()) == 130

    def down() -> str:
        raise client_errors.TransportError("cannot reach")

    assert watch(down, 0.01, io.StringIO(), iterations=2, sleep=lambda _s: None) == 0


def test_report_progress_shows_rate_and_eta_on_a_terminal_only(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from client.upload import ProgressBar

    monkeypatch.setenv("TERM", "xterm")
    tty = _Tty()
    bar = ProgressBar(tty, 10, 10_000, done=2, batch_size=1000)
    for done in range(3, 8):
        bar.update(done, done * 1000)
    bar.note("highway-client: rate limited: waiting 3 s (batch 8)")
    bar.close()
    drawn = re.sub(r"\033\[[0-9;?]*[a-zA-Z]", "", tty.getvalue())
    assert "7/10 batches, 7,000/10,000 rows" in drawn and "rows/s" in drawn
    assert "ETA" in drawn and "rate limited: waiting 3 s" in drawn
    pipe = io.StringIO()
    plain = ProgressBar(pipe, 10, 10_000)
    plain.update(5, 5000)
    plain.note("highway-client: rate limited: waiting 3 s (batch 6)")
    plain.close()
    assert pipe.getvalue() == "highway-client: rate limited: waiting 3 s (batch 6)\n"


def test_watch_clears_a_terminal_through_rich(monkeypatch: pytest.MonkeyPatch) -> None:
    from client.watch import watch

    monkeypatch.setenv("TERM", "xterm")
    tty = _Tty()
    assert watch(lambda: "frame", 0.01, tty, iterations=2, sleep=lambda _s: None) == 0
    screen = tty.getvalue()
    assert screen.count("\033[2J") == 2 and screen.count("frame") == 2  # home + clear, twice
    assert "refreshed " in screen
