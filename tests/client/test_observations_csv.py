"""Every message of client/observations_csv.py for each class of malformed row, with the
lines of the rows that were good; the same on a second read (its caches warm)."""

from __future__ import annotations

import datetime as dt
import io

import pytest

from client.observations_csv import MalformedFile, read_rows

H = "sensor_id,segment_id,observed_at,speed_kph\n"
T = "2026-01-02T03:04:05Z"
AT = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)

CASES = {
    "missing fields": (
        H + f"s1,,{T},50\n,192-EB-02,,\ns2,192-EB-02,{T}\ns3,192-EB-02\n \n",
        [(2, "missing segment_id"), (3, "missing sensor_id, observed_at, speed_kph"),
         (4, "missing speed_kph"), (5, "missing observed_at, speed_kph"),
         (6, "missing sensor_id, segment_id, observed_at, speed_kph")], []),
    "bad ids": (
        H + f"s 1,192-EB-02,{T},50\n-s,192-EB-02,{T},50\n{'x' * 80},192-EB-02,{T},50\n"
        f"s4,192.EB,{T},50\ns5,{'y' * 50},{T},50\n",
        [(2, "sensor_id 's 1' is not a valid sensor id"),
         (3, "sensor_id '-s' is not a valid sensor id"),
         (4, f"sensor_id '{'x' * 70}' is not a valid sensor id"),
         (5, "segment_id '192.EB' is not a valid segment id"),
         (6, f"segment_id '{'y' * 40}' is not a valid segment id")], []),
    "bad numbers": (
        H + f"s1,192-EB-02,{T},fast\ns2,192-EB-02,{T},1e999x\ns3,192-EB-02,{T},-1\n"
        f"s4,192-EB-02,{T},300.5\ns5,192-EB-02,{T},{'9' * 30}x\n",
        [(2, "speed_kph 'fast' is not a number"), (3, "speed_kph '1e999x' is not a number"),
         (4, "speed_kph -1 is outside 0..300"), (5, "speed_kph 300.5 is outside 0..300"),
         (6, "speed_kph '99999999999999999999' is not a number")], []),
    "non-finite": (
        H + f"s1,192-EB-02,{T},nan\ns2,192-EB-02,{T},inf\ns3,192-EB-02,{T},-inf\n"
        f"s4,192-EB-02,{T},1e999\n",
        [(2, "speed_kph nan is outside 0..300"), (3, "speed_kph inf is outside 0..300"),
         (4, "speed_kph -inf is outside 0..300"), (5, "speed_kph inf is outside 0..300")], []),
    "naive or bad times": (
        H + "s1,192-EB-02,2026-01-02T03:04:05,50\ns2,192-EB-02,2026-01-02 03:04,50\n"
        "s3,192-EB-02,yesterday,50\ns4,192-EB-02,2026-13-02T03:04:05Z,50\n"
        "s5,192-EB-02, 2026-01-02T05:04:05+02:00 ,50\n",
        [(2, "observed_at '2026-01-02T03:04:05' needs a time zone (e.g. Z)"),
         (3, "observed_at '2026-01-02 03:04' needs a time zone (e.g. Z)"),
         (4, "Invalid isoformat string: 'yesterday'"), (5, "month must be in 1..12")], [6]),
    "extra fields": (
        H + f"s1,192-EB-02,{T},50,extra\ns2,192-EB-02,{T},50,\ns3,192-EB-02,{T},50\n",
        [(2, "more fields than the header has"), (3, "more fields than the header has")], [4]),
    "blank lines": (
        H + f"\ns1,192-EB-02,{T},50\n\n\ns2,192-EB-02,{T},51\n,,,\n",
        [(7, "missing sensor_id, segment_id, observed_at, speed_kph")], [3, 6]),
    "reordered header, short rows": (
        " speed_kph , observed_at,segment_id,sensor_id,note\n"
        f"50,{T},192-EB-02,s1,hello\n51,{T},192-EB-02,s2\n52,{T}\n",
        [(4, "missing sensor_id, segment_id")], [2, 3]),
    "repeated column (the last counts)": (
        "sensor_id,segment_id,observed_at,speed_kph,speed_kph\n"
        f"s1,192-EB-02,{T},50,60\ns2,192-EB-02,{T},50,\n",
        [(3, "missing speed_kph")], [2]),
}


@pytest.mark.parametrize("name", list(CASES))
def test_each_class_of_malformed_row_keeps_its_message(name: str) -> None:
    text, entries, good_lines = CASES[name]
    for _ in range(2):  # the second read with the caches of the first
        with pytest.raises(MalformedFile) as info:
            read_rows(io.StringIO(text))
        assert info.value.entries == entries
        assert [row.line for row in info.value.rows] == good_lines
        assert info.value.total == len(entries)


def test_the_grouped_report_is_unchanged() -> None:
    with pytest.raises(MalformedFile) as info:
        read_rows(io.StringIO(CASES["extra fields"][0]))
    assert str(info.value) == ("2 malformed row(s), nothing was sent:\n"
                               "  lines 2-3: more fields than the header has")


def test_good_rows_are_read_alike_whatever_the_caches_hold() -> None:
    text = H + f" s1 , 192-EB-02 , {T} , 50 \ns2,192-EB-02,{T},+5.5e1\ns3,192-EB-02,{T},50\n" \
        f"s4,192-EB-02,{T},-0\ns5,192-EB-02,{T},0\n"
    for _ in range(2):
        rows = read_rows(io.StringIO(text))
        assert [(r.line, r.observation.sensor_id, r.observation.segment_id,
                 r.observation.observed_at, r.observation.speed_kph) for r in rows] == [
            (2, "s1", "192-EB-02", AT, 50.0), (3, "s2", "192-EB-02", AT, 55.0),
            (4, "s3", "192-EB-02", AT, 50.0), (5, "s4", "192-EB-02", AT, -0.0),
            (6, "s5", "192-EB-02", AT, 0.0)]
    assert str(rows[3].observation.speed_kph) == "-0.0"  # as float("-0") reads it


@pytest.mark.parametrize("text", ["", "sensor,segment,observed_at,speed_kph\ns1,x,y,z\n"])
def test_a_bad_header_is_one_problem(text: str) -> None:
    with pytest.raises(MalformedFile) as info:
        read_rows(io.StringIO(text))
    assert info.value.problems == [
        "line 1: header must contain sensor_id,segment_id,observed_at,speed_kph"]
    assert info.value.rows == []
