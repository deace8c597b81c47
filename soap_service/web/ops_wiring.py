"""Plugging operations into the server: observers and probes at assembly, listeners at serve."""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

from soap_service.core.observers import ExchangeObserver
from soap_service.ops.access_log import AccessLog
from soap_service.ops.metrics import (
    LiveCollector,
    MetricsObserver,
    ServiceMetrics,
    StageCollector,
)
from soap_service.ops.redis_ready import RedisReadiness
from soap_service.settings import ServerSettings
from soap_service.web.routes import ReadinessProbe

log = logging.getLogger("highway.ops")


@dataclasses.dataclass
class OpsParts:
    """What operations add to one process; kept in Service.parts["ops"]."""

    observers: list[ExchangeObserver]
    readiness: list[ReadinessProbe]
    metrics: ServiceMetrics | None = None
    redis_readiness: RedisReadiness | None = None
    metrics_port: Any = None  # the listening port once started


def build_ops(settings: ServerSettings, state: Any, reactor: Any) -> OpsParts:
    """Access log always; metrics only with --metrics-port (no per-request cost otherwise);
    a Redis readiness probe when shared state lives in Redis."""
    parts = OpsParts(observers=[AccessLog()], readiness=[])
    if settings.ops.metrics_port is not None:
        parts.metrics = ServiceMetrics()
        parts.observers.insert(0, MetricsObserver(parts.metrics))
    redis = getattr(state, "redis", None)
    if redis is not None:
        parts.redis_readiness = RedisReadiness(redis, reactor)
        parts.readiness.append(("redis", parts.redis_readiness.probe))
    return parts


def metrics_port_for(settings: ServerSettings) -> int | None:
    """The metrics port of this process: --metrics-port, plus the worker index with --workers."""
    port = settings.ops.metrics_port
    if port is None or port == 0:
        return port
    from soap_service.web.workers import worker_index

    return port + (worker_index() or 0)


def start_ops(service: Any, resource: Any, reactor: Any, *, metrics_socket: Any = None) -> None:
    """Start the metrics listener and the Redis readiness checks (raises ConfigurationFailure
    when the metrics port cannot be bound). `metrics_socket`: already bound (serve binds every
    port before touching the database), adopted instead of binding here."""
    parts: OpsParts | None = service.parts.get("ops")
    if parts is None:
        return
    if parts.metrics is None and service.parts.get("stage_timer") is not None:
        log.warning("--stage-timing without --metrics-port: stage times are kept but not served")
    if parts.metrics is not None:
        from soap_service.ops.metrics_server import listen_metrics

        parts.metrics.add_live_collector(
            LiveCollector(lambda: resource.in_flight, service.parts.get("state_health"),
                          service.parts["state"].replay_cache if "state" in service.parts
                          else None)
        )
        timer = service.parts.get("stage_timer")
        if timer is not None:
            parts.metrics.add_live_collector(StageCollector(timer))
        port = metrics_port_for(service.settings)
        assert port is not None
        parts.metrics_port = listen_metrics(
            reactor, parts.metrics.registry, service.settings.ops.metrics_host, port,
            sock=metrics_socket,
        )
    if parts.redis_readiness is not None:
        reactor.callWhenRunning(parts.redis_readiness.start)
