"""`highway-client report FILE.csv`: batches of up to 1000, a progress bar, safe resumption.

Resumption: after each acknowledged batch, `FILE.csv.progress` records how many batches are
done (with the file's SHA-256, the batch size and any --shift-to-now offset). Running the same
command again continues after the last acknowledged batch. A batch that was sent but not
acknowledged (connection lost) is sent again: the service stores (sensor_id, observed_at) once
and counts the repeat as duplicates, so nothing is stored twice. --restart ignores the file.
The progress file is removed when the upload completes.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import datetime as dt
import hashlib
import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any, TextIO

import rich.progress

from client import errors
from client.client import HighwayClient, PreparedReport
from client.models import ReportResult
from client.observations_csv import Row
from client.render import console_for, is_terminal

MAX_BATCH = 1000
PROGRESS_SUFFIX = ".progress"


@dataclasses.dataclass
class Progress:
    """What is known to be stored, as saved in FILE.csv.progress."""

    sha256: str
    batch_size: int
    shift_seconds: float
    batches_done: int = 0
    accepted: int = 0
    duplicates: int = 0

    def save(self, path: str) -> None:
        """Write atomically: a crash leaves the old file or the new one, never half of one."""
        temporary = path + ".tmp"
        with open(temporary, "w", encoding="utf-8") as handle:
            json.dump(dataclasses.asdict(self), handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)

    @classmethod
    def load(cls, path: str) -> Progress | None:
        """The saved progress, or None when there is none (or it is unreadable)."""
        try:
            with open(path, encoding="utf-8") as handle:
                return cls(**json.load(handle))
        except (OSError, ValueError, TypeError):
            return None


@dataclasses.dataclass(frozen=True)
class Summary:
    """The outcome of an upload, over every run that contributed to it."""

    rows: int
    batches: int
    batches_done: int
    accepted: int
    duplicates: int
    resumed_from: int  # batches already done when this run started

    @property
    def complete(self) -> bool:
        """True when every batch has been acknowledged."""
        return self.batches_done == self.batches


class BatchRefused(Exception):
    """The service refused a batch; the message names the CSV line when the fault says which."""

    def __init__(self, message: str, fault: errors.ServiceFaultError) -> None:
        super().__init__(message)
        self.fault = fault


def file_sha256(path: str) -> str:
    """The file's SHA-256 (identifies the file a progress record belongs to)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 16), b""):
            digest.update(chunk)
    return digest.hexdigest()


class ProgressBar:
    """The upload's progress on stderr, drawn by rich: bar, batches, rows, rate and ETA.

    Only on a terminal; elsewhere (a pipe, a log file) it draws nothing, and `note` prints
    plain lines."""

    def __init__(self, stream: TextIO, batches: int, rows: int, *, done: int = 0,
                 batch_size: int = 1) -> None:
        self._stream = stream
        self._rows = rows
        self._batch_size = batch_size
        self.enabled = is_terminal(stream)
        self._progress: rich.progress.Progress | None = None
        if self.enabled:
            self._progress = rich.progress.Progress(
                rich.progress.BarColumn(),
                rich.progress.TextColumn("{task.completed}/{task.total} batches,"),
                rich.progress.TextColumn("{task.fields[rows]} rows,"),
                rich.progress.TextColumn("{task.fields[rate]},"),
                rich.progress.TextColumn("ETA"),
                rich.progress.TimeRemainingColumn(),
                console=console_for(stream), transient=False,
            )
            self._task = self._progress.add_task("report", total=batches, completed=done,
                                                 rows=self._rows_text(done), rate="- rows/s")
            self._progress.start()

    def _rows_text(self, batches_done: int) -> str:
        return f"{min(self._rows, batches_done * self._batch_size):,}/{self._rows:,}"

    def update(self, batches_done: int, rows_done: int) -> None:
        """Redraw with the new counts (the rate is measured over the recent batches)."""
        if self._progress is None:
            return
        self._progress.update(self._task, completed=batches_done,
                              rows=f"{rows_done:,}/{self._rows:,}")
        speed = self._progress.tasks[0].speed  # batches per second, from recent updates
        rate = f"{speed * self._batch_size:,.0f} rows/s" if speed else "- rows/s"
        self._progress.update(self._task, rate=rate)

    def note(self, message: str) -> None:
        """Print a line above the bar (or plainly when there is no bar)."""
        if self._progress is not None:
            self._progress.console.print(message, markup=False, highlight=False)
        else:
            print(message, file=self._stream, flush=True)

    def close(self) -> None:
        """Stop redrawing, leaving the final state on screen."""
        if self._progress is not None:
            self._progress.stop()
            self._progress = None


def upload(
    client: HighwayClient,
    rows: Sequence[Row],
    progress: Progress,
    progress_path: str | None,
    *,
    max_batches: int | None = None,
    bar: ProgressBar | Any = None,
    sleep: Callable[[float], None] = time.sleep,
    err: TextIO | None = None,
) -> Summary:
    """Send the batches not yet acknowledged, saving progress after each one.

    One request is in flight at a time; while it is, a worker thread prepares the next
    batch's request (HighwayClient.prepare_report: observations to request bytes, the GIL
    being released while this thread waits for the answer). WS-Security is applied when a
    batch is sent. Batch i+1 is sent only after batch i was acknowledged and recorded.

    Raises BatchRefused for a fault (progress kept; nothing after the refused batch is sent),
    and lets TransportError through (progress kept: run again to resume)."""
    size = progress.batch_size
    batches = [rows[i:i + size] for i in range(0, len(rows), size)]
    start = min(progress.batches_done, len(batches))
    end = len(batches) if max_batches is None else min(len(batches), start + max(max_batches, 0))

    def prepare(index: int) -> PreparedReport:
        return client.prepare_report([row.observation for row in batches[index]])

    pool = concurrent.futures.ThreadPoolExecutor(max_workers=1,
                                                 thread_name_prefix="highway-report-prepare")
    try:
        pending = pool.submit(prepare, start) if start < end else None
        for index in range(start, end):
            assert pending is not None
            prepared = pending.result()  # a batch that cannot be made raises at its turn
            pending = pool.submit(prepare, index + 1) if index + 1 < end else None
            result = _send(client, prepared, batches[index], index, bar, sleep, err)
            progress.batches_done = index + 1
            progress.accepted += result.accepted
            progress.duplicates += result.duplicates
            if progress_path is not None:
                progress.save(progress_path)
            if bar is not None:
                bar.update(progress.batches_done, min(len(rows), progress.batches_done * size))
    finally:
        pool.shutdown(wait=False, cancel_futures=True)  # a prepared batch is just dropped
    return Summary(len(rows), len(batches), progress.batches_done, progress.accepted,
                   progress.duplicates, start)


def _send(client: HighwayClient, prepared: PreparedReport, batch: Sequence[Row], index: int,
          bar: ProgressBar | Any, sleep: Callable[[float], None],
          err: TextIO | None) -> ReportResult:
    """Send one prepared batch until it is acknowledged, waiting out "later" visibly."""
    while True:
        try:
            return client.send_report(prepared)
        except errors.RETRYABLE_FAULTS as exc:
            # The service said when to come back: wait it out visibly, then go on.
            wait = exc.retry_after if exc.retry_after is not None else 1.0
            label = "rate limited" if isinstance(exc, errors.RateLimitedError) else "busy"
            message = f"highway-client: {label}: waiting {wait:g} s (batch {index + 1})"
            if bar is not None and hasattr(bar, "note"):
                bar.note(message)
            else:
                print(message, file=err if err is not None else sys.stderr, flush=True)
            sleep(wait)
        except errors.ServiceFaultError as exc:
            raise BatchRefused(_refusal_message(exc, batch, index), exc) from exc


def _refusal_message(exc: errors.ServiceFaultError, batch: Sequence[Row], index: int) -> str:
    item = exc.detail.get("observationIndex")
    where = f"batch {index + 1}"
    if item is not None and item.isdigit() and 1 <= int(item) <= len(batch):
        where = f"line {batch[int(item) - 1].line}"
    return (f"{where}: the service refused the batch ({exc.code}: {exc.message}); nothing of "
            f"this batch was stored, earlier batches were")


def shift_for(rows: Sequence[Row], now: dt.datetime) -> float:
    """Whole seconds that move the newest observation to `now` (for --shift-to-now)."""
    if not rows:
        return 0.0
    newest = max(row.observed_at for row in rows)
    return float(int((now - newest).total_seconds()))
