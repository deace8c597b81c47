"""FreshRead: concurrent reads share round trips, yet none returns a value read before it
asked (what keeps cached answers from predating an acknowledged write)."""

from __future__ import annotations

import asyncio

import pytest

from soap_service.store.fresh_read import FreshRead


class Source:
    """A value whose reads can be held open, counting reads and when each looked."""

    def __init__(self) -> None:
        self.value = 0
        self.reads = 0
        self.gate: asyncio.Event | None = None
        self.fail: Exception | None = None

    async def fetch(self, key: str) -> tuple[str, int]:
        self.reads += 1
        seen = self.value  # the moment the database is read
        if self.gate is not None:
            await self.gate.wait()
        if self.fail is not None:
            raise self.fail
        return key, seen


def test_callers_at_once_share_one_read() -> None:
    async def main() -> None:
        source = Source()
        read = FreshRead(source.fetch)
        results = await asyncio.gather(*(read("192") for _ in range(20)))
        assert results == [("192", 0)] * 20
        assert source.reads == 1 and read.fetches == 1 and read.calls == 20
        # Another key is read on its own.
        assert await read("217") == ("217", 0) and source.reads == 2

    asyncio.run(main())


def test_a_caller_arriving_during_a_read_gets_a_later_read() -> None:
    async def main() -> None:
        source = Source()
        source.gate = asyncio.Event()
        read = FreshRead(source.fetch)
        early = asyncio.ensure_future(read("192"))
        await asyncio.sleep(0.01)  # the first read has looked at value 0 and is held
        source.value = 1  # a write is acknowledged now
        late = [asyncio.ensure_future(read("192")) for _ in range(5)]
        await asyncio.sleep(0.01)
        source.gate.set()
        assert await early == ("192", 0)
        assert [await task for task in late] == [("192", 1)] * 5  # one more read, after it
        assert source.reads == 2

    asyncio.run(main())


def test_an_error_reaches_every_waiter_and_the_next_call_reads_again() -> None:
    async def main() -> None:
        source = Source()
        source.fail = RuntimeError("database down")
        read = FreshRead(source.fetch)
        outcomes = await asyncio.gather(*(read("192") for _ in range(3)),
                                        return_exceptions=True)
        assert all(isinstance(o, RuntimeError) for o in outcomes)
        source.fail = None
        source.value = 7
        assert await read("192") == ("192", 7)

    asyncio.run(main())


def test_a_caller_that_goes_away_leaves_the_others_their_answer() -> None:
    async def main() -> None:
        source = Source()
        source.gate = asyncio.Event()
        read = FreshRead(source.fetch)
        leaving = asyncio.ensure_future(read("192"))
        staying = asyncio.ensure_future(read("192"))
        await asyncio.sleep(0.01)
        leaving.cancel()
        source.gate.set()
        assert await staying == ("192", 0)
        with pytest.raises(asyncio.CancelledError):
            await leaving

    asyncio.run(main())
