"""GET /healthz and /readyz: database always, Redis when the state URL names one."""

from __future__ import annotations

import json
import time

import pytest

from tests.ratelimit.redis_proc import RedisProcess, free_port, redis_binary
from tests.soap_helpers import RawResponse, request


def _ready(server, want: str) -> RawResponse:
    """/readyz once the Redis check has reported `want` (it pings in the background)."""
    deadline = time.monotonic() + 15
    while True:
        answer = request(server.url, None, method="GET", path="/readyz")
        if json.loads(answer.body)["checks"].get("redis") == want or time.monotonic() > deadline:
            return answer
        time.sleep(0.1)


def test_not_ready_while_redis_is_down(server_factory) -> None:
    server = server_factory("--no-require-auth",
                            "--state-url", f"redis://127.0.0.1:{free_port()}/0")
    first = request(server.url, None, method="GET", path="/readyz")
    assert first.status == 503  # not ready before the first PING has answered either
    answer = _ready(server, "unreachable")
    body = json.loads(answer.body)
    assert answer.status == 503
    assert body == {"status": "not ready",
                    "checks": {"database": "ok", "redis": "unreachable"}}
    assert request(server.url, None, method="GET", path="/healthz").status == 200  # alive


@pytest.mark.redis
@pytest.mark.skipif(redis_binary() is None, reason="needs redis-server")
def test_ready_with_redis_and_not_after_it_stops(server_factory) -> None:
    redis = RedisProcess(str(redis_binary()))
    redis.start()
    try:
        server = server_factory("--no-require-auth", "--state-url", redis.url)
        answer = _ready(server, "ok")
        assert answer.status == 200
        assert json.loads(answer.body)["checks"] == {"database": "ok", "redis": "ok"}
        redis.kill()
        assert _ready(server, "unreachable").status == 503
    finally:
        redis.close()


def test_memory_state_has_no_redis_check(open_server) -> None:
    answer = request(open_server.url, None, method="GET", path="/readyz")
    assert answer.status == 200
    assert json.loads(answer.body)["checks"] == {"database": "ok"}
