"""LazyDeadline on Twisted's Clock: it expires exactly `seconds` after the last arm, never
after a disarm, and reuses one pending timer across re-arms."""

from __future__ import annotations

from twisted.internet.task import Clock

from soap_service.frontdoor.lazy_deadline import LazyDeadline


def _deadline() -> tuple[Clock, LazyDeadline, list[float]]:
    clock = Clock()
    fired: list[float] = []
    return clock, LazyDeadline(clock.callLater, lambda: fired.append(clock.seconds())), fired


def test_expires_at_the_due_time_once() -> None:
    clock, deadline, fired = _deadline()
    deadline.arm(2.0)
    clock.advance(1.9)
    assert fired == [] and deadline.armed
    clock.advance(0.1)
    assert fired == [2.0] and not deadline.armed
    clock.advance(10.0)
    assert fired == [2.0]


def test_rearming_moves_the_due_time_and_keeps_one_timer() -> None:
    clock, deadline, fired = _deadline()
    for _ in range(50):
        deadline.arm(2.0)
        clock.advance(1.5)
    assert fired == [] and len(clock.getDelayedCalls()) == 1
    clock.advance(0.5)
    assert fired == [75.5]  # 2 s after the last arm (73.5)


def test_a_disarmed_deadline_never_fires_and_its_timer_is_reused() -> None:
    clock, deadline, fired = _deadline()
    deadline.arm(2.0)
    deadline.disarm()
    clock.advance(1.0)
    deadline.arm(2.0)  # moves the same timer to 3.0
    assert len(clock.getDelayedCalls()) == 1
    deadline.disarm()
    clock.advance(5.0)  # the old timer fires unarmed: nothing happens
    assert fired == [] and clock.getDelayedCalls() == []
    deadline.arm(1.0)  # a new timer after the old one went
    clock.advance(1.0)
    assert fired == [7.0]


def test_a_shorter_period_is_honoured() -> None:
    clock, deadline, fired = _deadline()
    deadline.arm(10.0)
    deadline.arm(1.0)
    clock.advance(1.0)
    assert fired == [1.0]


def test_cancel_drops_the_timer() -> None:
    clock, deadline, fired = _deadline()
    deadline.arm(1.0)
    deadline.cancel()
    assert not deadline.armed and clock.getDelayedCalls() == []
    clock.advance(5.0)
    assert fired == []
