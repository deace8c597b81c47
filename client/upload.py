"""`highway-client report FILE.csv`: batches of up to 1000, a progress bar, safe resumption.

Resumption: after each acknowledged batch, `FILE.csv.progress` records how many batches are
done (with the file's SHA-256, the batch size and any --shift-to-now offset). Running the same
command again continues after the last acknowledged batch. A batch that was sent but not
acknowledged (connection lost) is sent again: the service stores (sensor_id, observed_at) once
and counts the repeat as duplicates, so nothing is stored twice. --restart ignores the file.
The progress file is removed when the upload completes.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any, TextIO

from client import errors
from client.client import HighwayClient
from client.observations_csv import Row

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
    """`[#####-----] 3/10 batches, 3,000/10,000 rows` on stderr, redrawn in place; only on a TTY."""

    def __init__(self, stream: TextIO, batches: int, rows: int) -> None:
        self._stream = stream
        self._batches = batches
        self._rows = rows
        self.enabled = bool(getattr(stream, "isatty", lambda: False)())

    def update(self, batches_done: int, rows_done: int) -> None:
        """Redraw the bar."""
        if not self.enabled:
            return
        width = 30
        filled = int(width * batches_done / self._batches) if self._batches else width
        self._stream.write(f"\r[{'#' * filled}{'-' * (width - filled)}] {batches_done}/"
                           f"{self._batches} batches, {rows_done:,}/{self._rows:,} rows")
        self._stream.flush()

    def close(self) -> None:
        """End the bar's line."""
        if self.enabled:
            self._stream.write("\n")


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

    Raises BatchRefused for a fault (progress kept), and lets TransportError through (progress
    kept: run again to resume)."""
    size = progress.batch_size
    batches = [rows[i:i + size] for i in range(0, len(rows), size)]
    start = min(progress.batches_done, len(batches))
    sent = 0
    for index in range(start, len(batches)):
        if max_batches is not None and sent >= max_batches:
            break
        batch = batches[index]
        while True:
            try:
                result = client.report_observations([row.observation for row in batch])
                break
            except errors.RETRYABLE_FAULTS as exc:
                # The service said when to come back: wait it out visibly, then go on.
                wait = exc.retry_after if exc.retry_after is not None else 1.0
                label = "rate limited" if isinstance(exc, errors.RateLimitedError) else "busy"
                print(f"highway-client: {label}: waiting {wait:g} s (batch {index + 1})",
                      file=err if err is not None else sys.stderr, flush=True)
                sleep(wait)
            except errors.ServiceFaultError as exc:
                raise BatchRefused(_refusal_message(exc, batch, index), exc) from exc
        progress.batches_done = index + 1
        progress.accepted += result.accepted
        progress.duplicates += result.duplicates
        if progress_path is not None:
            progress.save(progress_path)
        sent += 1
        if bar is not None:
            bar.update(progress.batches_done, min(len(rows), progress.batches_done * size))
    return Summary(len(rows), len(batches), progress.batches_done, progress.accepted,
                   progress.duplicates, start)


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
    newest = max(row.observation.observed_at for row in rows)
    return float(int((now - newest).total_seconds()))
