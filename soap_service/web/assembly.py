"""Wiring: builds the store, the Spyne runner and the request pipeline from the settings.

This is the one place where stages are put in order; the order is the request path.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
from typing import Any

from soap_service.contract.limits import NetworkOutsideContract, check_network
from soap_service.core.bulk_share import BulkShare
from soap_service.core.observers import ExchangeObserver
from soap_service.core.pipeline import Pipeline
from soap_service.core.stage_timing import AUTHORIZATION, WS_SECURITY, StageTimer
from soap_service.core.stages import Stage
from soap_service.frontdoor.xml_guard import XmlGuard
from soap_service.ratelimit.build import build_rate_limiting
from soap_service.security.account_directory import AccountDirectory
from soap_service.security.authorization import AuthorizationStage
from soap_service.security.build import build_security_stages, is_loopback_host
from soap_service.security.mtls_stage import ClientCertificateStage
from soap_service.security.wss_stage import WsSecurityStage
from soap_service.settings import ServerSettings, duration_seconds
from soap_service.settings_loader import ConfigError
from soap_service.soap.response_cache import ResponseCache, store_key_version
from soap_service.soap.runner import SpyneRunner
from soap_service.soap.service import (
    OperationLoader,
    build_application,
    report_batch,
    travel_times,
)
from soap_service.state.shared import open_state
from soap_service.store import database, sample_network
from soap_service.store.engines import open_engine
from soap_service.store.traffic_store import TrafficStore, load_network
from soap_service.web.ops_wiring import build_ops
from soap_service.web.routes import ReadinessProbe

# --stage-timing names of the security stages (the rate-limit stages name their own).
SECURITY_TIMING_STAGES: dict[type, str] = {
    WsSecurityStage: WS_SECURITY,
    ClientCertificateStage: AUTHORIZATION,  # maps a client certificate to a principal
    AuthorizationStage: AUTHORIZATION,
}


@dataclasses.dataclass
class Service:
    """Everything one server process runs: store, pipeline, readiness probes."""

    settings: ServerSettings
    store: TrafficStore
    pipeline: Pipeline
    readiness: list[ReadinessProbe]
    # Objects other parts may need at runtime (metrics, state health), by name.
    parts: dict[str, Any]


class StoreOpenError(Exception):
    """The database named by --db cannot be used at start (one line for the operator)."""


def open_store(settings: ServerSettings) -> tuple[TrafficStore, Any]:
    """Open the database, migrate it, load the sample network into an empty one; returns the
    serving store and the synchronous start-up connection (accounts, demo account).

    This runs before the reactor serves anything, so blocking here is fine; StoreOpenError
    says in one line why the database is unusable."""
    target = database.parse_db_url(settings.core.db)
    try:
        conn = database.connect(settings.core.db)
        if settings.core.load_sample_data:
            sample_network.load_if_empty(conn)
        network = load_network(conn)
    except Exception as exc:  # noqa: BLE001 - sqlite3/psycopg/OS errors: all mean unusable
        raise StoreOpenError(
            f"cannot use the database {target.display()}: {_first_line(exc)}"
        ) from exc
    window = dt.timedelta(minutes=settings.core.speed_window_minutes)
    retention_s = duration_seconds(settings.core.retention)
    retention = dt.timedelta(seconds=retention_s) if retention_s is not None else None
    if retention is not None and retention < window:
        raise ConfigError(f"core.retention (--retention {settings.core.retention}) is shorter "
                          "than the speed window (--speed-window-minutes): travel times would "
                          "lose their observations")
    engine = open_engine(target, timeout_s=settings.core.db_timeout_seconds)
    store = TrafficStore(engine, network, window=window, retention=retention)
    try:
        # Never serve answers the published contract would reject (limits read from the XSD).
        check_network(store.highways())
    except NetworkOutsideContract as exc:
        raise ConfigError(f"cannot serve the network in {target.display()}: {exc}") from exc
    return store, conn


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def build_service(
    settings: ServerSettings, reactor: Any, bound_port: int | None = None
) -> Service:
    """Assemble the request path for one process; `bound_port` is the port actually listened
    on (with --port 0 the settings do not know it), for the demo account's export line."""
    store, conn = open_store(settings)
    # Read answers are reused while the data holds; the full request path still runs.
    cache = ResponseCache(store.answer_version, key_version=store_key_version(store))
    runner = SpyneRunner(build_application(store), load=OperationLoader(store), cache=cache,
                         report=functools.partial(report_batch, store),
                         travel_times=functools.partial(travel_times, store))
    parts: dict[str, Any] = {"reactor": reactor, "store_health": store.engine.health,
                             "response_cache": cache}  # cleared when the network changes
    accounts = AccountDirectory(store.engine, ttl_seconds=settings.core.accounts_cache_seconds)

    # Shared state (memory:// or Redis): rate-limit counters and the WS-Security replay cache;
    # the security stages take `state.replay_cache` (Redis: shared, fails closed when down).
    state = open_state(settings.ratelimit.state_url, settings.ratelimit.replay_cache_entries)
    rate_limiting = build_rate_limiting(settings.ratelimit, state)
    parts["state"] = state
    parts["state_health"] = state.health
    parts["rate_limiting"] = rate_limiting

    # In-flight cap, then per-IP limit: cheap refusals before any XML work.
    before_parse: list[Stage] = [*rate_limiting.before_parse]
    before_operation: list[Stage] = []
    # WS-Security -> mTLS identity -> authorization; accounts live in the same database.
    before_operation.extend(build_security_stages(
        settings.security, conn, state.replay_cache,
        db_path=settings.core.db, loopback_listener=is_loopback_host(settings.core.host),
        accounts=accounts, listener_url=settings.listener_url(bound_port),
    ))
    conn.close()  # start-up work is done; serving uses the asynchronous engine
    # Per-principal limit: after the security stages (they must be listed above this line).
    before_operation.extend(rate_limiting.after_authorization)
    # Operations: JSON/text access log, metrics (with --metrics-port), Redis readiness.
    ops = build_ops(settings, state, reactor)
    parts["ops"] = ops
    observers: list[ExchangeObserver] = [rate_limiting.in_flight_release, *ops.observers]
    guard = XmlGuard.from_settings(settings.frontdoor)
    timer = StageTimer() if settings.ops.stage_timing else None
    parts["stage_timer"] = timer

    pipeline = Pipeline(
        before_parse=before_parse,
        guard=guard,
        runner=runner,
        before_operation=before_operation,
        observers=observers,
        bulk=BulkShare(settings.core.bulk_share),
        timer=timer,
        stage_names=SECURITY_TIMING_STAGES,
    )

    # Learnt from every database call and re-checked every second by StoreMonitor.
    database_ready = store.engine.health.probe
    readiness: list[ReadinessProbe] = [("database", database_ready), *ops.readiness]
    return Service(settings, store, pipeline, readiness, parts)
