"""The request path, read in one direction: checks before parsing, XML guard, schema validation
and dispatch, security and authorization, rate limits, then the operation itself."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from soap_service import faults
from soap_service.core.bulk_share import BulkShare
from soap_service.core.errors import DependencyUnavailable
from soap_service.core.exchange import Exchange, Reply
from soap_service.core.observers import ExchangeObserver, ReplyExit
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
    ) -> None:
        self._before_parse = tuple(before_parse)
        self._guard = guard
        self._runner = runner
        self._before_operation = tuple(before_operation)
        # Paces the steps of large bodies while small requests wait (core/bulk_share.py).
        self.bulk = bulk if bulk is not None else BulkShare()
        # The same exit serves the answers decided before the pipeline (web/resource.py, the
        # front door's HTTP layer), so the observers see every answer the process sends.
        self.exit = ReplyExit(observers)

    async def handle(self, exchange: Exchange) -> Reply:
        """Take the exchange down the path; refusals become SOAP faults."""
        bulk = self.bulk
        bulk.begin(exchange)
        try:
            for stage in self._before_parse:
                await stage(exchange)
            # Parse and schema validation run without awaiting: their wall time is this
            # request's own, which is what the pacing measures.
            step = bulk.mark()
            self._guard.parse(exchange)
            await bulk.after_step(exchange, step)
            step = bulk.mark()
            prepared = self._runner.prepare(exchange)  # schema validation, dispatch
            await bulk.after_step(exchange, step)
            for stage in self._before_operation:
                await stage(exchange)
            await bulk.pass_turn(exchange)
            body = await self._runner.run(exchange, prepared)
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
        self.exit.completed(exchange, reply, fault)
        return reply


def fault_reply(fault: ServiceFault, exchange: Exchange) -> Reply:
    """The Reply for a refusal: the fault envelope, its status, and headers set so far."""
    headers = list(exchange.response_headers)
    headers.extend(fault.headers)
    headers.append(("X-Correlation-ID", exchange.correlation_id))
    return Reply(fault.http_status, faults.render_fault(fault, exchange.correlation_id),
                 tuple(headers))
