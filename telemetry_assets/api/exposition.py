"""The service's Prometheus metrics, in a registry of its own (one per app instance).

Besides the service's own counters, `/metrics` carries the pipeline's ledger
(`telemetry_ingest_records_total{outcome}`), read from the warehouse `ingest_stats` table at
scrape time, so one scrape shows what came in and what the pipeline made of it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, Metric
from prometheus_client.registry import Collector

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class _Ledger(Collector):
    def __init__(self, ledger: Callable[[], dict[str, int]]):
        self.ledger = ledger

    def collect(self) -> Iterator[Metric]:
        family = CounterMetricFamily(
            "telemetry_ingest_records",
            "Records the pipeline has read, per outcome (warehouse ingest_stats, all days)",
            labels=["outcome"],
        )
        for outcome, count in self.ledger().items():
            family.add_metric([outcome], count)
        yield family


class ServiceMetrics:
    def __init__(self, ledger: Callable[[], dict[str, int]]):
        self.registry = registry = CollectorRegistry()
        self.requests = Counter(
            "telemetry_api_requests",
            "HTTP requests answered, per route and status",
            ["method", "route", "status"],
            registry=registry,
        )
        self.request_seconds = Histogram(
            "telemetry_api_request_seconds",
            "Time to answer a request, per route (ingest: until the records are durable)",
            ["method", "route"],
            buckets=_LATENCY_BUCKETS,
            registry=registry,
        )
        self.records = Counter(
            "telemetry_api_records",
            "Records landed, per format and the gate's outcome (valid or rejected)",
            ["format", "outcome"],
            registry=registry,
        )
        self.fsync_seconds = Histogram(
            "telemetry_api_fsync_seconds",
            "Time of one group commit's fsync",
            buckets=_LATENCY_BUCKETS,
            registry=registry,
        )
        self.landing_bytes = Counter(
            "telemetry_api_landing_bytes", "Bytes written to landing files", registry=registry
        )
        self.ws_clients = Gauge(
            "telemetry_api_ws_clients", "Live WebSocket subscribers", registry=registry
        )
        self.ws_dropped = Counter(
            "telemetry_api_ws_dropped_clients",
            "WebSocket subscribers dropped because they fell behind",
            registry=registry,
        )
        registry.register(_Ledger(ledger))

    def render(self) -> bytes:
        return generate_latest(self.registry)
