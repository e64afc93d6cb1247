"""Producer SDK for the telemetry pipeline: standard library only, so applications can vendor it.

Copy this folder into an application (it imports nothing else from `telemetry_assets`) and::

    from telemetry_assets.sdk import TelemetryClient, TelemetryConfig

    config = TelemetryConfig(
        service="checkout",
        tags={"region": "eu-west-1"},           # global tags, merged into every record
        sample_rate=0.25,                       # keep ~25 % (spans: whole traces)
        exporter="http",                        # or "landing" (landing_dir=...) or "console"
        http_url="http://127.0.0.1:8000",
        http_token=None,                        # sent as "Authorization: Bearer <token>"
    )
    telemetry = TelemetryClient(config)

    telemetry.counter("orders", 1, {"plan": "pro"})        # format C samples, one per call
    telemetry.gauge("queue_depth", 17)
    telemetry.histogram("latency", 12.5, {"route": "/pay"})
    telemetry.event("payment_failed", {"user_id": "u1"}, severity="error")  # v1, channel "app"
    telemetry.log("warning", "retrying payment", {"attempt": 2})           # format D

    with telemetry.span("charge_card") as span:            # v1, channel "trace"
        span.set_attribute("provider", "acme")
        with telemetry.span("http_call"):                  # child: same trace_id, parent id set
            ...

    @telemetry.span("nightly_job")                          # the same, as a decorator
    def job() -> None: ...

    telemetry.close()   # also runs at interpreter exit; flush() exports without closing

What the records look like is DESIGN §4: metrics are format C samples (`metric_type` = name,
tags incl. `metric_kind` = counter/gauge/histogram), events and spans are `telemetry_event_v1`
records (a span's payload holds trace_id, span_id, parent_span_id, service, latency_ms, status),
logs are format D. Invalid input (empty names, NaN or infinite numbers, bools as values, naive
datetimes, payloads that are not JSON, a negative latency) raises `ValueError` at the call, so
the SDK never writes a record the pipeline would quarantine.

Identity: the pipeline treats records with identical content as one record (that is how it
absorbs retried requests). The client makes its own timestamps strictly increasing, so its
records never collide; several processes of one service that record the same metric with the
same tags should set a distinguishing global tag (e.g. `instance`), and a caller passing
`timestamp=` explicitly owns that choice.

Delivery: a bounded buffer (full = the record is dropped and counted, the caller never waits),
a flush thread (every `flush_interval_ms` and at the high-water mark), and `stats()` accounting
for every record. The HTTP exporter retries connection errors, 5xx and 429 with backoff and
jitter, re-sending identical bytes (the pipeline deduplicates by identity); other 4xx are
counted as failed and logged on the `telemetry_assets.sdk` logger. The landing exporter writes
`.events-…` files, fsyncs each batch and renames them to their landing names when rolled.
Try it: `python -m telemetry_assets.sdk.example --url http://127.0.0.1:8000` or `--landing DIR`.
"""

from .client import TelemetryClient, TelemetryStats
from .config import TelemetryConfig
from .records import Severity

__all__ = ["Severity", "TelemetryClient", "TelemetryConfig", "TelemetryStats"]
