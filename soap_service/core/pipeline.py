"""The request path, read in one direction: checks before parsing, XML guard, schema validation
and dispatch, security and authorization, rate limits, then the operation itself."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

from soap_service import faults
from soap_service.core.bulk_share import BulkShare
from soap_service.core.errors import DependencyUnavailable
from soap_service.core.exchange import Exchange, Reply
from soap_service.core.observers import ExchangeObserver, ReplyExit
from soap_service.core.stage_timing import (
    NO_LAPS,
    OBSERVERS,
    OPERATION,
    PARSE,
    SCHEMA,
    StageTimer,
)
from soap_service.core.stage_timing import stage_names as _stage_names
from soap_service.core.stages import EnvelopeGuard, OperationRunner, Stage
from soap_service.faults import ServiceFault

log = logging.getLogger("highway.request")


class Pipeline:
    """Runs one exchange through every stage and always ends in a Reply, never an exception."""

    def __init__(
        self,
        *,
        before_parse: Sequence[Stage],
        guard: EnvelopeGuard,
        runner: OperationRunner,
        before_operation: Sequence[Stage],
        observers: Sequence[ExchangeObserver] = (),
        bulk: BulkShare | None = None,
        timer: StageTimer | None = None,
        stage_names: Mapping[type, str] | None = None,
    ) -> None:
        self._before_parse = tuple(before_parse)
        self._guard = guard
        self._runner = runner
        self._before_operation = tuple(before_operation)
        # Paces the steps of large bodies while small requests wait (core/bulk_share.py).
        self.bulk = bulk if bulk is not None else BulkShare()
        # --stage-timing: the resource starts each exchange's laps (exchange.timing) with this
        # timer; each stage's timing name comes from its `timing_stage` or `stage_names`.
        self.timer = timer
        known = stage_names or {}
        self._named_before_parse = tuple(zip(
            self._before_parse, _stage_names(self._before_parse, known), strict=True))
        self._named_before_operation = tuple(zip(
            self._before_operation, _stage_names(self._before_operation, known), strict=True))
        # The same exit serves the answers decided before the pipeline (web/resource.py, the
        # front door's HTTP layer), so the observers see every answer the process sends.
        self.exit = ReplyExit(observers)

    async def handle(self, exchange: Exchange) -> Reply:
        """Take the exchange down the path; refusals become SOAP faults."""
        bulk = self.bulk
        bulk.begin(exchange)
        laps = exchange.timing or NO_LAPS  # records only with --stage-timing
        try:
            for stage, name in self._named_before_parse:
                await stage(exchange)
                laps.lap(name)
            # Parse and schema validation run without awaiting: their wall time is this
            # request's own, which is what the pacing measures.
            step = bulk.mark()
            self._guard.parse(exchange)
            laps.lap(PARSE)
            await bulk.after_step(exchange, step)
            laps.skip()  # pacing and yields to other requests are no stage of this one
            step = bulk.mark()
            prepared = self._runner.prepare(exchange)  # schema validation, dispatch
            laps.lap(SCHEMA)
            await bulk.after_step(exchange, step)
            laps.skip()
            for stage, name in self._named_before_operation:
                await stage(exchange)
                laps.lap(name)
            await bulk.pass_turn(exchange)
            laps.skip()
            step = bulk.mark()
            body = await self._runner.run(exchange, prepared)  # laps store, serialization
            laps.lap(OPERATION)
            # A batch's answer waits its turn too: the next batch then starts later.
            await bulk.after_step(exchange, step)
            laps.skip()
            reply = Reply(200, body, tuple(exchange.response_headers))
            fault: ServiceFault | None = None
        except ServiceFault as exc:
            fault = exc
            reply = fault_reply(exc, exchange)
        except DependencyUnavailable as exc:  # database locked, down, full, read-only
            fault = exc.as_fault()
            reply = fault_reply(fault, exchange)
        except Exception:  # noqa: BLE001 - any bug must still end in a SOAP fault
            log.exception("unhandled error correlation_id=%s", exchange.correlation_id)
            fault = ServiceFault(
                faults.SERVER, "The service could not process the request.", reason="unhandled"
            )
            reply = fault_reply(fault, exchange)
        finally:
            bulk.end(exchange)
        if fault is not None:
            laps.skip()  # the refusing stage's partial time is charged to nothing
        self.exit.completed(exchange, reply, fault)
        laps.lap(OBSERVERS)
        if exchange.timing is not None and self.timer is not None:
            self.timer.finish(exchange.operation, laps)
        return reply


def fault_reply(fault: ServiceFault, exchange: Exchange) -> Reply:
    """The Reply for a refusal: the fault envelope, its status, and headers set so far."""
    headers = list(exchange.response_headers)
    headers.extend(fault.headers)
    headers.append(("X-Correlation-ID", exchange.correlation_id))
    return Reply(fault.http_status, faults.render_fault(fault, exchange.correlation_id),
                 tuple(headers))
