"""client/upload.py prepares batch i+1 while batch i is in flight, and still sends one batch
at a time, in order, each once, recording progress after each acknowledgement (real server;
a HighwayClient subclass only records and injects failures)."""

from __future__ import annotations

import datetime as dt
import json
import threading
from pathlib import Path
from typing import Any

import pytest

from client import errors
from client.client import HighwayClient, PreparedReport
from client.models import Observation, ReportResult
from client.observations_csv import Row
from client.upload import BatchRefused, Progress, upload
from tests.client.test_report import stored
from tests.conftest import RunningServer


def _rows(count: int, prefix: str, *, unknown_at: int | None = None) -> list[Row]:
    at = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(minutes=1)
    return [Row.of(i + 2, Observation(f"{prefix}-{i}",
                                      "192-XX-99" if i == unknown_at else "192-EB-02",
                                      at + dt.timedelta(milliseconds=i), 40.0 + i % 7))
            for i in range(count)]


def _batch_of(prepared: PreparedReport) -> int:
    """The batch index of a prepared request (its first sensor id ends with the row index)."""
    first = prepared.kwargs["observation"].observations[0].sensor_id
    return int(first.rsplit("-", 1)[1]) // 10


class Recording(HighwayClient):
    """Records prepares and sends (with the saved progress seen at each send); the send of
    batch `fail_at` can be made to fail after the service stored it (the answer lost)."""

    def __init__(self, *args: Any, progress_path: Path, fail_at: int | None = None,
                 failure: BaseException | None = None,
                 last: int = 4, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.last = last  # the last batch this run sends: no batch is made ahead of it
        self.progress_path = progress_path
        self.fail_at, self.failure = fail_at, failure
        self.prepared: list[int] = []
        self.sends: list[tuple[int, int]] = []  # (batch, batches_done on disk at that moment)
        self._prepared_events: dict[int, threading.Event] = {}
        self._lock = threading.Lock()

    def _event(self, index: int) -> threading.Event:
        with self._lock:
            return self._prepared_events.setdefault(index, threading.Event())

    def prepare_report(self, observations: Any) -> PreparedReport:
        prepared = super().prepare_report(observations)
        index = _batch_of(prepared)
        self.prepared.append(index)
        self._event(index).set()
        return prepared

    def send_report(self, prepared: PreparedReport) -> ReportResult:
        index = _batch_of(prepared)
        on_disk = (json.loads(self.progress_path.read_text())["batches_done"]
                   if self.progress_path.exists() else 0)
        self.sends.append((index, on_disk))
        if index < self.last:
            # The next batch is made while this one is in flight (not after its answer).
            assert self._event(index + 1).wait(10), f"batch {index + 2} was not prepared ahead"
        if index == self.fail_at and self.failure is not None:
            super().send_report(prepared)  # stored by the service, the answer "lost"
            raise self.failure
        return super().send_report(prepared)


def _client(server: RunningServer, tmp_path: Path, **kwargs: Any) -> Recording:
    return Recording(url=server.url, progress_path=tmp_path / "obs.csv.progress", **kwargs)


def test_every_batch_is_sent_once_in_order_after_the_last_was_recorded(
        open_server: RunningServer, tmp_path: Path) -> None:
    client = _client(open_server, tmp_path)
    progress = Progress("sha", 10, 0.0)
    summary = upload(client, _rows(50, "order"), progress, str(client.progress_path))
    assert client.sends == [(i, i) for i in range(5)]  # batch i sent once batch i-1 was saved
    assert sorted(client.prepared) == list(range(5))
    assert summary.complete and (summary.accepted, summary.duplicates) == (50, 0)
    assert json.loads(client.progress_path.read_text())["batches_done"] == 5
    assert stored(open_server.db_path) == (50, 50)


def test_a_refused_batch_is_the_last_sent_though_the_next_was_prepared(
        open_server: RunningServer, tmp_path: Path) -> None:
    client = _client(open_server, tmp_path)
    progress = Progress("sha", 10, 0.0)
    with pytest.raises(BatchRefused) as info:
        upload(client, _rows(50, "refused", unknown_at=24), progress, str(client.progress_path))
    assert [batch for batch, _ in client.sends] == [0, 1, 2]
    assert 3 in client.prepared  # made ahead, dropped unsent
    assert str(info.value).startswith("line 26: the service refused the batch")
    assert "nothing of this batch was stored, earlier batches were" in str(info.value)
    assert json.loads(client.progress_path.read_text())["batches_done"] == 2
    assert stored(open_server.db_path) == (20, 20)  # exactly the batches before it


@pytest.mark.parametrize("failure", [errors.TransportError("connection lost"),
                                     KeyboardInterrupt()])
def test_a_lost_answer_leaves_progress_at_the_last_acknowledged_batch(
        open_server: RunningServer, tmp_path: Path, failure: BaseException) -> None:
    rows = _rows(50, f"lost-{type(failure).__name__}")
    client = _client(open_server, tmp_path, fail_at=2, failure=failure)
    with pytest.raises(type(failure)):
        upload(client, rows, Progress("sha", 10, 0.0), str(client.progress_path))
    assert [batch for batch, _ in client.sends] == [0, 1, 2]
    assert json.loads(client.progress_path.read_text())["batches_done"] == 2
    assert stored(open_server.db_path) == (30, 30)  # batch 3 stored, not acknowledged

    again = _client(open_server, tmp_path)
    resumed = Progress.load(str(again.progress_path))
    assert resumed is not None
    summary = upload(again, rows, resumed, str(again.progress_path))
    assert [batch for batch, _ in again.sends] == [2, 3, 4]
    assert summary.complete and summary.resumed_from == 2
    assert (summary.accepted, summary.duplicates) == (40, 10)  # only batch 3 twice
    assert stored(open_server.db_path) == (50, 50)


def test_max_batches_stops_exactly(open_server: RunningServer, tmp_path: Path) -> None:
    client = _client(open_server, tmp_path, last=1)
    progress = Progress("sha", 10, 0.0)
    summary = upload(client, _rows(50, "max"), progress, str(client.progress_path),
                     max_batches=2)
    assert [batch for batch, _ in client.sends] == [0, 1]
    assert sorted(client.prepared) == [0, 1]  # nothing made that will not be sent
    assert (summary.batches_done, summary.complete) == (2, False)
    assert stored(open_server.db_path) == (20, 20)
    nothing = upload(client, _rows(50, "max"), progress, str(client.progress_path),
                     max_batches=0)
    assert nothing.batches_done == 2 and len(client.sends) == 2


class _Bar:
    def __init__(self) -> None:
        self.notes: list[str] = []
        self.updates: list[int] = []

    def note(self, message: str) -> None:
        self.notes.append(message)

    def update(self, batches_done: int, rows_done: int) -> None:
        self.updates.append(batches_done)


class _BusyOnce:
    """In-process (a socket adds nothing): batch 2 is refused once with Retry-After."""

    def __init__(self) -> None:
        self.sent: list[Any] = []

    def prepare_report(self, observations: Any) -> list[Any]:
        return list(observations)

    def send_report(self, prepared: list[Any]) -> ReportResult:
        self.sent.append(prepared)
        if len(self.sent) == 2:
            raise errors.OverloadedError("busy", code="Server.Overloaded",
                                         detail={"retryAfterSeconds": "2.5"})
        return ReportResult(len(prepared), 0)


def test_the_retry_after_wait_is_shown_and_the_same_batch_sent_again() -> None:
    client = _BusyOnce()
    bar = _Bar()
    slept: list[float] = []
    summary = upload(client, _rows(30, "busy"), Progress("x", 10, 0.0), None,  # type: ignore[arg-type]
                     bar=bar, sleep=slept.append)
    assert summary.complete and summary.accepted == 30
    assert slept == [2.5]
    assert bar.notes == ["highway-client: busy: waiting 2.5 s (batch 2)"]
    assert client.sent[1] is client.sent[2]  # the prepared batch, again (wsse is per send)
    assert bar.updates == [1, 2, 3]
