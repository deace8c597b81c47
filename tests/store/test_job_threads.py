"""JobThreads: results and errors come back to the loop, a job's time bound holds, a job
nobody waits for any more is not run, and shutdown refuses new jobs."""

from __future__ import annotations

import asyncio
import threading

import pytest

from soap_service.store.job_threads import JobsClosed, JobThreads


def test_results_errors_and_the_thread_they_ran_on() -> None:
    threads = JobThreads(2, "t-basic")

    async def scenario() -> None:
        names = await asyncio.gather(*(threads.run(lambda: threading.current_thread().name, 5)
                                       for _ in range(20)))
        assert set(names) <= {"t-basic_0", "t-basic_1"}
        assert threading.current_thread().name not in names

        def fail() -> None:
            raise KeyError("boom")

        with pytest.raises(KeyError, match="boom"):
            await threads.run(fail, 5)
        assert await threads.run(lambda: 41 + 1, 5) == 42  # still serving after an error

    try:
        asyncio.run(scenario())
    finally:
        threads.shutdown()


def test_one_thread_runs_jobs_in_submission_order() -> None:
    threads = JobThreads(1, "t-order")
    seen: list[int] = []

    async def scenario() -> None:
        await asyncio.gather(*(threads.run(lambda i=i: seen.append(i), 5) for i in range(100)))

    try:
        asyncio.run(scenario())
    finally:
        threads.shutdown()
    assert seen == list(range(100))


def test_a_slow_job_times_out_and_a_queued_job_whose_caller_left_is_skipped() -> None:
    threads = JobThreads(1, "t-timeout")
    release = threading.Event()
    ran: list[str] = []

    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        started = loop.time()
        with pytest.raises(TimeoutError):
            await threads.run(lambda: release.wait(10), 0.2)  # holds the only thread
        assert 0.15 < loop.time() - started < 2.0
        queued = asyncio.ensure_future(threads.run(lambda: ran.append("queued"), 5))
        await asyncio.sleep(0.05)
        queued.cancel()  # its caller goes away while it waits behind the slow job
        with pytest.raises(asyncio.CancelledError):
            await queued
        release.set()
        assert await threads.run(lambda: "after", 5) == "after"

    try:
        asyncio.run(scenario())
    finally:
        threads.shutdown()
    assert ran == []


def test_shutdown_refuses_new_jobs() -> None:
    threads = JobThreads(1, "t-shutdown")
    threads.shutdown()

    async def scenario() -> None:
        with pytest.raises(JobsClosed):
            await threads.run(lambda: 1, 5)

    asyncio.run(scenario())


def test_jobs_queued_at_shutdown_fail_with_jobs_closed() -> None:
    threads = JobThreads(1, "t-closing")
    release = threading.Event()

    async def scenario() -> None:
        busy = asyncio.ensure_future(threads.run(lambda: release.wait(10), 5))
        queued = asyncio.ensure_future(threads.run(lambda: "never", 5))
        await asyncio.sleep(0.05)
        threads.shutdown()
        with pytest.raises(JobsClosed):
            await asyncio.wait_for(queued, 2)  # at once, not after its 5 s bound
        release.set()
        assert await busy is True  # the running job finishes

    asyncio.run(scenario())
