"""state/resp.py writes exactly the bytes redis-py's own packing writes, and leaves every
argument type it does not write to redis-py."""

from __future__ import annotations

import enum
import random

import redis.asyncio as aioredis

from soap_service.state.resp import pack_commands


class Level(enum.IntEnum):
    LOW = 1


def _redis_py(commands: list[tuple[object, ...]]) -> bytes:
    client = aioredis.Redis.from_url("redis://127.0.0.1:1/0")  # never connects
    connection = client.connection_pool.make_connection()
    return b"".join(connection.pack_commands(commands))  # type: ignore[arg-type]


def test_generated_commands_are_packed_as_redis_py_packs_them() -> None:
    rng = random.Random(3)
    names = ["SET", "EVALSHA", "CONFIG GET", b"GET", b"SCRIPT  LOAD", "get", "X\u00e9",
             "X\tY", " SET ", "", b"A\tB", b"A\t B"]
    values = ["", "k", "wss:ut:" + "f" * 64, "\u00e9\u4e2d\U0001F600", "a b", "x" * 7000,
              b"", b"\x00\xff raw", b"y" * 7000, 0, -1, 2**70, 361000, 0.5, -0.0, 1e300,
              float("inf"), float("nan")]
    for _ in range(2000):
        commands = [(rng.choice(names), *(rng.choice(values) for _ in range(rng.randint(0, 5))))
                    for _ in range(rng.randint(1, 20))]
        assert pack_commands(commands) == _redis_py(commands), commands


def test_other_argument_types_are_left_to_redis_py() -> None:
    for odd in (True, None, memoryview(b"m"), Level.LOW, bytearray(b"b"), ["list"]):
        assert pack_commands([("SET", "k", "v"), ("SET", "k", odd)]) is None
    assert pack_commands([(7, "k")]) is None
    assert pack_commands([()]) is None
