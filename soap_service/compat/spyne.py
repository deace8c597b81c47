"""The part of Spyne's `ServerBase` request sequence the runner re-does itself, in one place.

Spyne's `process_request` (spyne/server/_base.py) calls the operation and wraps *every*
exception into a Fault; the runner wants its own faults and bugs to reach the pipeline, so it
runs the same steps without the catch-all. Relied on (tested in tests/compat/test_compat.py):
- `Application.call_wrapper(ctx)` returns the operation's result;
- `ctx.descriptor.out_message._type_info` (private) lists the response's parts: a response
  with at most one part is passed on wrapped in a list, as process_request does;
- `ctx.outprot_ctx` becomes `ctx.protocol` before `ServerBase.get_out_string(ctx)`, which
  fills `ctx.out_string`.
"""

from __future__ import annotations

from typing import Any

from soap_service.compat import require

TESTED_RANGE = ("2.14.0", "2.15")  # lowest tested, first untested
SPYNE_VERSION = require("spyne", *TESTED_RANGE)


def call_and_serialize(app: Any, server: Any, ctx: Any) -> bytes:
    """Run the dispatched operation of `ctx` and serialize its answer, exceptions unwrapped."""
    return serialize(server, ctx, call(app, ctx))


def call(app: Any, ctx: Any) -> Any:
    """Run the dispatched operation of `ctx`; its result as `serialize` takes it."""
    out = app.call_wrapper(ctx)
    if len(ctx.descriptor.out_message._type_info) <= 1:
        out = [out]
    return out


def serialize(server: Any, ctx: Any, out_object: Any) -> bytes:
    """Spyne's serialization of `out_object` as the answer of the dispatched `ctx` (the
    direct ReportObservations path renders its template with this)."""
    ctx.out_object = out_object
    ctx.protocol = ctx.outprot_ctx
    server.get_out_string(ctx)
    return b"".join(ctx.out_string)
