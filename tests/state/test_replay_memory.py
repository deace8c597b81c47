"""The in-process replay cache: first sight, replays, expiry after the window, fail-closed cap."""

from __future__ import annotations

import asyncio

import pytest

from soap_service.state.replay import MemoryReplayCache, StateUnavailable, replay_table_bytes


class Clock:
    """A settable monotonic clock."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def seen(cache: MemoryReplayCache, key: str, ttl: float = 300.0) -> bool:
    return asyncio.run(cache.first_seen(key, ttl))


def test_a_key_is_new_once_and_a_replay_after() -> None:
    cache = MemoryReplayCache(clock=Clock())
    assert seen(cache, "wss:nonce:a") is True
    assert seen(cache, "wss:nonce:a") is False
    assert seen(cache, "wss:nonce:b") is True
    assert len(cache) == 2


def test_a_key_is_remembered_for_at_least_its_ttl_then_forgotten() -> None:
    clock = Clock()
    cache = MemoryReplayCache(clock=clock)
    assert seen(cache, "k", ttl=300) is True
    for elapsed in (1, 150, 299.9):
        clock.now = 1000.0 + elapsed
        assert seen(cache, "k", ttl=300) is False
    clock.now = 1000.0 + 600  # two windows later both generations have gone
    assert seen(cache, "k", ttl=300) is True


@pytest.mark.parametrize("offset", [0.0, 30.0, 59.9])
def test_keys_late_in_a_generation_still_live_a_full_ttl(offset: float) -> None:
    clock = Clock()
    cache = MemoryReplayCache(clock=clock)
    assert seen(cache, "first", ttl=60)
    clock.now += offset
    assert seen(cache, "late", ttl=60)
    for step in (10.0, 30.0, 59.9):
        at = 1000.0 + offset + step
        clock.now = at
        assert seen(cache, "late", ttl=60) is False, at
    clock.now = 1000.0 + offset + 121  # past two windows after its generation began
    assert seen(cache, "late", ttl=60) is True


def test_many_keys_across_generations() -> None:
    clock = Clock()
    cache = MemoryReplayCache(max_entries=1000, clock=clock)
    for i in range(800):
        assert seen(cache, f"a-{i}", ttl=60)
    clock.now += 61
    for i in range(800):
        assert seen(cache, f"b-{i}", ttl=60)
    assert not any(seen(cache, f"a-{i}", ttl=60) for i in range(800))
    assert len(cache) == 1600


def test_a_full_cache_refuses_instead_of_evicting() -> None:
    cache = MemoryReplayCache(max_entries=3, clock=Clock())
    for key in "abc":
        assert seen(cache, key)
    with pytest.raises(StateUnavailable):
        seen(cache, "d")
    assert seen(cache, "a") is False  # live entries were kept


def test_a_full_cache_is_logged_once_per_window_and_counted(
        caplog: pytest.LogCaptureFixture) -> None:
    clock = Clock()
    cache = MemoryReplayCache(max_entries=2, clock=clock)
    assert seen(cache, "a", 60) and seen(cache, "b", 60)
    with caplog.at_level("WARNING", logger="highway.state"):
        for key in "cde":
            with pytest.raises(StateUnavailable):
                seen(cache, key, 60)
    assert cache.full_refusals == 3 and cache.capacity == 2
    warnings = [r for r in caplog.records if "replay cache full" in r.getMessage()]
    assert len(warnings) == 1 and "--replay-cache-entries 2" in warnings[0].getMessage()
    clock.now += 61  # the window turns: room again, and a new warning may be logged
    assert seen(cache, "c", 60)
    assert seen(cache, "a", 60) is False  # still remembered in the previous generation


def test_memory_is_fixed_by_the_setting() -> None:
    assert replay_table_bytes(900_000) == 32 * 1024 * 1024  # the documented default figure
    assert replay_table_bytes(1000) == 2 * 8 * 2048


def test_processes_hash_differently() -> None:
    # A random per-process hash key: collisions cannot be precomputed by a caller.
    assert MemoryReplayCache()._hash("k") != MemoryReplayCache()._hash("k")
