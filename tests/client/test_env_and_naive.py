"""HighwayClient reads HIGHWAY_* from the environment and refuses naive observation times."""

from __future__ import annotations

import datetime as dt

import pytest

from client import HighwayClient, Observation


def test_env_fallback_and_explicit_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HIGHWAY_URL", "http://127.0.0.1:1/soap")
    monkeypatch.setenv("HIGHWAY_USERNAME", "demo")
    monkeypatch.setenv("HIGHWAY_PASSWORD", "s3cret")
    client = HighwayClient.from_env()
    assert client.url == "http://127.0.0.1:1/soap" and client.username == "demo"
    assert "s3cret" not in repr(client)
    other = HighwayClient(url="http://127.0.0.1:2/soap", username="x", password="y")
    assert other.url.endswith(":2/soap") and other.username == "x"


def test_no_url_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HIGHWAY_URL", raising=False)
    with pytest.raises(ValueError, match="HIGHWAY_URL"):
        HighwayClient()


def test_naive_datetime_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HIGHWAY_USERNAME", raising=False)
    client = HighwayClient(url="http://127.0.0.1:1/soap")
    with pytest.raises(ValueError, match="time zone"):
        client.report_observations([Observation("s", "192-WB-01", dt.datetime.now(), 20)])
