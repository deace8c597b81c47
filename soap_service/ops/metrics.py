"""Prometheus metrics for the request path, on a registry of their own (never the global one).

Counters are updated by `MetricsObserver` once per exchange (label children are cached so the
hot path is a dict lookup and two increments); gauges that mirror other parts' state (requests
in flight, Redis availability) are read only when scraped, by `LiveCollector`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, disable_created_metrics
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from soap_service import __version__, faults
from soap_service.core.exchange import Exchange, Reply
from soap_service.core.observers import ExchangeObserver
from soap_service.core.stage_timing import StageTimer
from soap_service.faults import ServiceFault
from soap_service.ops.access_log import outcome_of
from soap_service.state.replay import MemoryReplayCache

# Small requests take ~1 ms; a 1000-observation batch tens of ms; anything near 10 s is a stall.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0)
NO_OPERATION = "none"  # refused before the operation was known (XML, schema, load shedding)
# Limit scopes that are login throttling (also counted in highway_auth_throttled_total).
AUTH_THROTTLE_SCOPES = frozenset({"auth_failure_ip", "auth_failure_account", "password_hashing"})


class ServiceMetrics:
    """Every metric this process exports, registered on `self.registry`."""

    def __init__(self) -> None:
        disable_created_metrics()  # no *_created series: they double the output for no use
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter("highway_requests", "SOAP requests by operation and outcome "
                                "(ok, client_fault, server_fault)", ["operation", "outcome"],
                                registry=r)
        self.faults = Counter("highway_faults", "SOAP faults sent, by operation and fault code",
                              ["operation", "code"], registry=r)
        self.latency = Histogram("highway_request_duration_seconds",
                                 "Time from request received to reply decided, by operation",
                                 ["operation"], buckets=LATENCY_BUCKETS, registry=r)
        self.rate_limited = Counter("highway_rate_limit_refusals", "Requests refused by a limit: "
                                    "scope ip, principal, in_flight (load shedding), "
                                    "auth_failure_ip, auth_failure_account, password_hashing",
                                    ["scope"], registry=r)
        self.auth_failures = Counter("highway_auth_failures", "Authentication and authorization "
                                     "failures by fault code and coarse reason",
                                     ["code", "reason"], registry=r)
        self.auth_throttled = Counter("highway_auth_throttled", "Password checks refused "
                                      "without hashing: scope auth_failure_ip or "
                                      "auth_failure_account (too many failed logins, 429), "
                                      "password_hashing (hashing queue full, 503)",
                                      ["scope"], registry=r)
        self.replays = Counter("highway_replays_detected", "Requests refused because their nonce "
                               "or signature was seen before", registry=r)
        self._request_children: dict[tuple[str, str], Any] = {}
        self._latency_children: dict[str, Any] = {}

    def observe(self, operation: str, fault: ServiceFault | None, seconds: float) -> None:
        """Count one finished exchange."""
        outcome = outcome_of(fault)
        key = (operation, outcome)
        child = self._request_children.get(key)
        if child is None:
            child = self._request_children[key] = self.requests.labels(operation, outcome)
        child.inc()
        timer = self._latency_children.get(operation)
        if timer is None:
            timer = self._latency_children[operation] = self.latency.labels(operation)
        timer.observe(seconds)
        if fault is not None:
            self._count_fault(operation, fault)

    def _count_fault(self, operation: str, fault: ServiceFault) -> None:
        # Faults are the rare path: labels() lookups here are fine.
        self.faults.labels(operation, fault.code).inc()
        # Which counters a fault feeds is declared with its code (faults.REGISTRY); the label
        # comes from the raise site (ServiceFault label=), never from the wording of a message.
        category = faults.REGISTRY[fault.code].category
        if category == "limit" and fault.label is not None:
            self.rate_limited.labels(fault.label).inc()
            if fault.label in AUTH_THROTTLE_SCOPES:
                self.auth_throttled.labels(fault.label).inc()
        elif category == "auth":
            reason = fault.label or "other"
            self.auth_failures.labels(fault.code, reason).inc()
            if reason == "replay":
                self.replays.inc()

    def add_live_collector(self, collector: Collector) -> None:
        """Register a collector whose values are read at scrape time."""
        self.registry.register(collector)


class MetricsObserver(ExchangeObserver):
    """Feeds every finished exchange into ServiceMetrics."""

    def __init__(self, metrics: ServiceMetrics) -> None:
        self._metrics = metrics

    def completed(self, exchange: Exchange, reply: Reply, fault: ServiceFault | None) -> None:
        """See ExchangeObserver.completed."""
        if fault is None and exchange.method in ("GET", "HEAD"):
            return  # the contract, the service page, probes: not SOAP requests
        seconds = time.monotonic() - exchange.started
        self._metrics.observe(exchange.operation or NO_OPERATION, fault, seconds)


class LiveCollector(Collector):
    """Gauges read on scrape: requests in flight, Redis state (from state/health.py), build."""

    def __init__(self, in_flight: Callable[[], int], state_health: Any | None,
                 replay_cache: Any | None = None) -> None:
        self._in_flight = in_flight
        self._health = state_health
        self._replay = replay_cache

    def collect(self) -> Iterator[Metric]:
        """See prometheus_client's Collector protocol."""
        yield GaugeMetricFamily("highway_in_flight_requests",
                                "SOAP requests being processed now", value=self._in_flight())
        info = GaugeMetricFamily("highway_build_info", "Version of the running service",
                                 labels=["version"])
        info.add_metric([__version__], 1)
        yield info
        if isinstance(self._replay, MemoryReplayCache):
            yield GaugeMetricFamily("highway_replay_cache_entries", "Nonces the in-process "
                                    "replay cache remembers now", value=len(self._replay))
            yield GaugeMetricFamily("highway_replay_cache_capacity", "New nonces the in-process "
                                    "replay cache takes per window (--replay-cache-entries)",
                                    value=self._replay.capacity)
            yield CounterMetricFamily("highway_replay_cache_full_refusals", "WS-Security "
                                      "requests refused (503) because the replay cache was full",
                                      value=self._replay.full_refusals)
        if self._health is None:
            return
        snap = self._health.snapshot()
        yield GaugeMetricFamily("highway_redis_configured", "1 when shared state lives in Redis",
                                value=snap["redis_configured"])
        yield GaugeMetricFamily("highway_redis_available", "1 while Redis answers; 0 while rate "
                                "limits fall back to process memory", value=snap["redis_available"])
        yield CounterMetricFamily("highway_redis_fallbacks", "Times Redis became unreachable and "
                                  "this process fell back", value=snap["fallback_total"])
        yield CounterMetricFamily("highway_redis_recoveries", "Times Redis became reachable again",
                                  value=snap["recovery_total"])
        yield CounterMetricFamily("highway_redis_failures", "Redis calls that failed",
                                  value=snap["failure_total"])


class StageCollector(Collector):
    """--stage-timing totals (core/stage_timing.py), read on scrape."""

    def __init__(self, timer: StageTimer) -> None:
        self._timer = timer

    def collect(self) -> Iterator[Metric]:
        """See prometheus_client's Collector protocol."""
        seconds = CounterMetricFamily("highway_stage_seconds", "Wall time spent per stage of "
                                      "SOAP requests, by operation (--stage-timing)",
                                      labels=["operation", "stage"])
        for (operation, stage), spent_ns in sorted(self._timer.totals_ns.items()):
            seconds.add_metric([operation, stage], spent_ns / 1e9)
        yield seconds
        requests = CounterMetricFamily("highway_stage_requests", "SOAP requests timed per "
                                       "stage, by operation (--stage-timing)",
                                       labels=["operation"])
        for operation, count in sorted(self._timer.requests.items()):
            requests.add_metric([operation], count)
        yield requests
