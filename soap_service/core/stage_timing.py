"""Per-stage wall time of each request (`--stage-timing`): where a request's time goes.

Off by default. When on, the pipeline gives each SOAP exchange a `StageLaps`: every stage
boundary calls `lap(stage)`, which charges the time since the previous boundary to that stage
(`skip()` charges it to nothing: the bulk share's pacing of large bodies). When the reply has
left through the exit, `StageTimer.finish` adds the laps to per-(operation, stage) totals,
which ops/metrics.py exports. With the flag off each boundary is a call to NO_LAPS, which
records nothing. No prometheus import here: this is layer 0.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

FRONT_DOOR = "front_door"  # request object created -> pipeline start, plus the in-flight cap
PARSE = "parse"  # EnvelopeGuard.parse
SCHEMA = "schema"  # runner.prepare: schema validation and dispatch
WS_SECURITY = "ws_security"
AUTHORIZATION = "authorization"
RATE_LIMIT = "rate_limit"  # the per-IP limit before parse and the per-principal limit
OPERATION = "operation"  # run() minus store minus serialization
SERIALIZATION = "serialization"  # Spyne's serialize, the direct report render
STORE = "store"  # awaiting the store (OperationLoader, report_batch)
OBSERVERS = "observers"  # ReplyExit.completed
OTHER = "other"  # a stage nobody classified (e.g. a test-only stage)
STAGES = (FRONT_DOOR, PARSE, SCHEMA, WS_SECURITY, AUTHORIZATION, RATE_LIMIT, OPERATION,
          SERIALIZATION, STORE, OBSERVERS)
NO_OPERATION = "none"  # refused before the operation was known

Clock = Callable[[], int]


class StageLaps:
    """The laps of one exchange: nanoseconds per stage since `start`."""

    __slots__ = ("_clock", "_last", "spent")

    def __init__(self, clock: Clock, start_ns: int | None = None) -> None:
        self._clock = clock
        self._last = clock() if start_ns is None else start_ns
        self.spent: dict[str, int] = {}

    def lap(self, stage: str) -> None:
        """Charge the time since the previous boundary to `stage`."""
        now = self._clock()
        self.spent[stage] = self.spent.get(stage, 0) + now - self._last
        self._last = now

    def skip(self) -> None:
        """Charge the time since the previous boundary to no stage."""
        self._last = self._clock()


class _NoLaps(StageLaps):
    """Laps that record nothing: what the path uses when --stage-timing is off."""

    __slots__ = ()

    def __init__(self) -> None:
        """Nothing to keep (no clock is read)."""

    def lap(self, stage: str) -> None:
        """Record nothing."""

    def skip(self) -> None:
        """Record nothing."""


NO_LAPS: StageLaps = _NoLaps()  # `exchange.timing or NO_LAPS`: boundaries need no branch


class StageTimer:
    """Totals per (operation, stage) in nanoseconds, and finished requests per operation."""

    def __init__(self, clock: Clock | None = None) -> None:
        if clock is None:
            import time

            clock = time.perf_counter_ns
        self.clock: Clock = clock
        self.totals_ns: dict[tuple[str, str], int] = {}
        self.requests: dict[str, int] = {}

    def start(self, start_ns: int | None = None) -> StageLaps:
        """Laps for a new exchange, counted from `start_ns` (default: now)."""
        return StageLaps(self.clock, start_ns)

    def finish(self, operation: str | None, laps: StageLaps) -> None:
        """Add one finished exchange's laps to the totals."""
        name = operation or NO_OPERATION
        self.requests[name] = self.requests.get(name, 0) + 1
        totals = self.totals_ns
        for stage, spent in laps.spent.items():
            key = (name, stage)
            totals[key] = totals.get(key, 0) + spent


def stage_names(stages: Iterable[object], known: Mapping[type, str]) -> tuple[str, ...]:
    """The timing stage of each stage object: its `timing_stage`, else by class, else OTHER."""
    return tuple(getattr(stage, "timing_stage", None) or known.get(type(stage), OTHER)
                 for stage in stages)
