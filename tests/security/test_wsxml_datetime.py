"""parse_datetime (Created, Expires) reads every xsd:dateTime form exactly as the text
rewrite it replaced did, and refuses the same texts."""

from __future__ import annotations

import datetime
import random
import re

from soap_service.security.wsxml import EARLIEST, LATEST, parse_datetime

_PATTERN = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$")


def _rewritten(text: str) -> datetime.datetime | str | None:
    """The former reading: fraction cut or padded to six digits and "Z" spelt +00:00 first
    ("overflow" where its conversion to UTC raised)."""
    if not _PATTERN.match(text):
        return None
    head, sep, fraction_and_zone = text.partition(".")
    if sep:
        digits = re.match(r"\d+", fraction_and_zone)
        assert digits is not None
        zone = fraction_and_zone[digits.end():]
        text = f"{head}.{digits.group()[:6].ljust(6, '0')}{zone}"
    try:
        value = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    try:
        return value.astimezone(datetime.UTC)
    except OverflowError:
        return "overflow"


def _candidate(rng: random.Random) -> str:
    def two(top: int) -> str:
        # Mostly in range, with the edges either side and, now and then, anything.
        usual = [1, 9, 10, top - 1, top, top + 1, 0, rng.randint(1, top)] * 3
        return f"{rng.choice([*usual, rng.randint(0, 99)]):02d}"

    year = rng.choice(["0001", "1970", "2026", "9999", "0000", "20260", "999"])
    fraction = rng.choice(["", "." + "7" * rng.randint(1, 10), ".0", ".", ".123456789"])
    zone = rng.choice(["Z", "Z", "", "+00:00", "-05:30", "-05:30", "+14:00", "+14:00", "+24:00",
                       "-00:60", "z", "+0530", " Z", "Z "])
    separator = rng.choice(["T"] * 8 + [" ", "t"])
    date = f"{year}-{two(12)}-{two(31)}"
    if rng.random() < 0.1:  # the first and last days, where an offset can leave the range
        date = rng.choice(["0001-01-01", "9999-12-31"])
    return f"{date}{separator}{two(24)}:{two(59)}:{two(59)}{fraction}{zone}"


def test_every_form_reads_as_the_rewrite_read_it():
    rng = random.Random(11)
    read = refused = overflowed = 0
    for _ in range(20000):
        text = _candidate(rng)
        expected = _rewritten(text)
        got = parse_datetime(text)
        if expected == "overflow":  # it raised; now the earliest or latest instant there is
            expected = EARLIEST if text.startswith("0001") else LATEST
            overflowed += 1
        assert got == expected, text
        if got is None:
            refused += 1
        else:
            read += 1
            assert got.tzinfo is datetime.UTC, text
    assert read > 150 and refused > 2000 and overflowed > 5, (read, refused, overflowed)


def test_named_forms():
    utc = datetime.UTC
    assert parse_datetime("2026-12-07T15:00:05.352Z") == datetime.datetime(
        2026, 12, 7, 15, 0, 5, 352000, tzinfo=utc)
    assert parse_datetime("2026-12-07T15:00:05.123456789-05:30") == datetime.datetime(
        2026, 12, 7, 20, 30, 5, 123456, tzinfo=utc)
    assert parse_datetime("0001-01-01T04:59:59+05:00") == EARLIEST
    assert parse_datetime("9999-12-31T23:00:00-05:00") == LATEST
    for text in ("2026-12-07T15:00:05", "2026-12-07T24:00:00Z", "2026-04-31T00:00:00Z",
                 "2026-12-07 15:00:05Z", "2026-12-07T15:00:05.Z"):
        assert parse_datetime(text) is None, text
