"""`report` waits out a rate limit visibly and goes on (in-process: a socket adds nothing)."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

from client import errors
from client.models import Observation, ReportResult
from client.observations_csv import Row
from client.upload import Progress, upload


class _LimitedOnce:
    def __init__(self) -> None:
        self.calls = 0

    def prepare_report(self, observations: Any) -> list[Any]:
        return list(observations)

    def send_report(self, observations: Any) -> ReportResult:
        self.calls += 1
        if self.calls == 2:
            raise errors.RateLimitedError("slow down", code="Client.RateLimited",
                                          detail={"retryAfterSeconds": "56"})
        return ReportResult(accepted=len(list(observations)), duplicates=0)


def test_rate_limit_is_waited_out_and_upload_completes() -> None:
    now = dt.datetime.now(dt.UTC)
    rows = [Row.of(i + 2, Observation(f"s{i}", "192-WB-01", now, 40.0)) for i in range(3)]
    slept: list[float] = []
    err = io.StringIO()
    client = _LimitedOnce()
    summary = upload(client, rows, Progress("x", 1, 0.0), None,  # type: ignore[arg-type]
                     sleep=slept.append, err=err)
    assert summary.complete and summary.accepted == 3
    assert slept == [56.0] and "rate limited: waiting 56 s" in err.getvalue()
