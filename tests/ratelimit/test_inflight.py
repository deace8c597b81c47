"""The in-flight cap: excess refused at once with 503 Server.Overloaded; slots come back."""

from __future__ import annotations

import asyncio

import pytest

from soap_service import faults
from soap_service.core.exchange import Reply
from soap_service.faults import ServiceFault
from soap_service.ratelimit.inflight import InFlightLimit, InFlightRelease
from tests.ratelimit.conftest import make_exchange, run


def test_excess_gets_503_immediately_and_slots_are_released() -> None:
    async def scenario() -> None:
        cap = InFlightLimit(2)
        release = InFlightRelease(cap)
        gate = asyncio.Event()  # the "slow operation": holds its slot until the gate opens

        async def request() -> str:
            exchange = make_exchange()
            fault: ServiceFault | None = None
            try:
                await cap(exchange)
                await gate.wait()
                return "ok"
            except ServiceFault as exc:
                fault = exc
                assert exc.code == faults.SERVER_OVERLOADED and exc.http_status == 503
                assert dict(exc.headers)["Retry-After"] == "1"
                return "overloaded"
            finally:
                release.completed(exchange, Reply(200, b""), fault)

        tasks = [asyncio.ensure_future(request()) for _ in range(5)]
        for _ in range(3):
            await asyncio.sleep(0)
        # The three excess requests are answered while the two slow ones still hold slots.
        assert sorted(t.result() for t in tasks if t.done()) == ["overloaded"] * 3
        assert cap.in_flight == 2
        gate.set()
        results = await asyncio.gather(*tasks)
        assert sorted(results) == ["ok", "ok", "overloaded", "overloaded", "overloaded"]
        assert cap.in_flight == 0 and cap.shed_count == 3
        assert await request() == "ok"

    run(scenario())


def test_release_is_idempotent() -> None:
    async def scenario() -> None:
        cap = InFlightLimit(1)
        exchange = make_exchange()
        await cap(exchange)
        cap.release(exchange)
        cap.release(exchange)  # the observer and the resource's finally-block both call it
        assert cap.in_flight == 0
        refused = make_exchange()
        await cap(make_exchange())
        with pytest.raises(ServiceFault):
            await cap(refused)
        cap.release(refused)  # held no slot: must not free someone else's
        assert cap.in_flight == 1

    run(scenario())


def test_the_server_has_no_test_only_delay_setting(capsys: pytest.CaptureFixture[str]) -> None:
    """Tests hold requests in flight with tests/slow_server.py; production has no such knob."""
    from soap_service.cli import build_parser
    from soap_service.ratelimit.settings import RateLimitSettings

    assert "debug_operation_delay" not in RateLimitSettings.__dataclass_fields__
    with pytest.raises(SystemExit) as exited:
        build_parser().parse_args(["serve", "--debug-operation-delay", "1"])
    assert exited.value.code == 2
    assert "--debug-operation-delay" in capsys.readouterr().err
