"""`TelemetryClient`: the application-facing API that records, samples, buffers and flushes.

Recording happens on the caller's thread and never blocks on I/O: a record is validated,
serialised, sampled and put into a bounded buffer (or counted as dropped when it is full).
A daemon thread hands the buffer to the exporter every `flush_interval_ms`, or earlier when the
buffer reaches its high-water mark. `flush()`, `close()` and the `atexit` hook export
everything buffered before they return, so a process that exits normally loses nothing.

Every recorded record ends up in exactly one counter of `stats()`; between flushes (and always
after `close()`), `recorded == exported + failed + dropped + sampled_out + buffered`.
"""

from __future__ import annotations

import atexit
import contextlib
import datetime as dt
import logging
import random
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from .buffer import RecordBuffer
from .config import TelemetryConfig
from .exporters import Exporter, build_exporter
from .records import (
    Record,
    RecordKind,
    Severity,
    TagValue,
    check_name,
    check_number,
    check_tags,
    event_record,
    log_record,
    metric_sample,
)
from .sampling import Sampler
from .spans import CURRENT_SPAN, Span, new_span_id, new_trace_id

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TelemetryStats:
    """Where every recorded record went; see the module docstring for the invariant."""

    recorded: int
    exported: int
    failed: int
    dropped: int
    sampled_out: int
    buffered: int


def _severity(value: str | Severity) -> Severity:
    try:
        return Severity(str(value).lower())
    except ValueError:
        allowed = ", ".join(s.value for s in Severity)
        raise ValueError(f"severity must be one of {allowed}, got {value!r}") from None


class TelemetryClient:
    """Records metrics, events, logs and spans for one service and exports them in batches.

    `exporter` and `rng` replace the configured exporter and the sampling random source
    (tests pass an in-memory exporter and a seeded `random.Random`).
    """

    def __init__(
        self,
        config: TelemetryConfig | None = None,
        *,
        exporter: Exporter | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.config = config if config is not None else TelemetryConfig()
        self._tags = check_tags(self.config.tags)
        self._sampler = Sampler(self.config.sample_rate, rng)
        high_water = max(1, int(self.config.buffer_size * self.config.high_water))
        self._buffer = RecordBuffer(self.config.buffer_size, high_water)
        # Guards the counters, the sampler and `_closed`, so no record slips in after close.
        self._lock = threading.Lock()
        # One flush at a time: the exporter is not thread-safe and flush() must wait for the
        # flush thread's batch to be delivered before it returns.
        self._export_lock = threading.Lock()
        self._recorded = self._sampled_out = self._exported = self._failed = 0
        self._last_stamp = dt.datetime.min.replace(tzinfo=dt.UTC)
        self._closed = False
        self._stop = threading.Event()
        self._exporter: Exporter | None = None
        self._thread: threading.Thread | None = None
        if not self.config.enabled:
            return
        self._exporter = exporter if exporter is not None else build_exporter(self.config)
        self._thread = threading.Thread(target=self._run, name="telemetry-flush", daemon=True)
        self._thread.start()
        atexit.register(self.close)

    # -- metrics ---------------------------------------------------------------------------

    def counter(
        self,
        name: str,
        value: float = 1,
        tags: Mapping[str, TagValue] | None = None,
        *,
        timestamp: dt.datetime | None = None,
    ) -> None:
        """Count occurrences: each call is one sample carrying the increment (sum them)."""
        if check_number(f"increment of {name!r}", value) < 0:
            raise ValueError(f"a counter only goes up; increment of {name!r} was {value!r}")
        self._metric("counter", name, value, tags, timestamp)

    def gauge(
        self,
        name: str,
        value: float,
        tags: Mapping[str, TagValue] | None = None,
        *,
        timestamp: dt.datetime | None = None,
    ) -> None:
        """A current level (queue depth, memory); each call is one sample."""
        self._metric("gauge", name, value, tags, timestamp)

    def histogram(
        self,
        name: str,
        value: float,
        tags: Mapping[str, TagValue] | None = None,
        *,
        timestamp: dt.datetime | None = None,
    ) -> None:
        """One observation of a distribution (a latency, a size); percentiles come downstream."""
        self._metric("histogram", name, value, tags, timestamp)

    def _metric(
        self,
        kind: str,
        name: str,
        value: float,
        tags: Mapping[str, TagValue] | None,
        timestamp: dt.datetime | None,
    ) -> None:
        # `metric_kind` tells the pipeline how to aggregate: sum, last value or distribution.
        merged = {**self._tags, **check_tags(tags), "metric_kind": kind}
        self._submit(
            metric_sample(name, value, self.config.service, merged, self._stamp(timestamp))
        )

    # -- events and logs -------------------------------------------------------------------

    def event(
        self,
        name: str,
        payload: Mapping[str, Any] | None = None,
        *,
        severity: str | Severity = Severity.INFO,
        channel: str = "app",
        timestamp: dt.datetime | None = None,
    ) -> None:
        """A `telemetry_event_v1` record; the payload gets the global tags, service and severity."""
        body = {
            **self._tags,
            "service": self.config.service,
            **(payload or {}),
            "severity": _severity(severity).value,
        }
        self._submit(event_record(channel, name, body, self._stamp(timestamp)))

    def log(
        self,
        level: str | Severity,
        message: str,
        context: Mapping[str, Any] | None = None,
        *,
        timestamp: dt.datetime | None = None,
    ) -> None:
        """A format D log record; inside a span its context names the trace and span."""
        merged: dict[str, Any] = {**self._tags, **(context or {})}
        span = CURRENT_SPAN.get()
        if span is not None:
            merged.setdefault("trace_id", span.trace_id)
            merged.setdefault("span_id", span.span_id)
        record = log_record(
            _severity(level), message, self.config.service, merged, self._stamp(timestamp)
        )
        self._submit(record)

    # -- spans -----------------------------------------------------------------------------

    def span(
        self, name: str, attributes: Mapping[str, Any] | None = None
    ) -> contextlib.AbstractContextManager[Span]:
        """Time a block (`with client.span("db.query") as s:`) or a function (`@client.span(...)`).

        Spans opened inside it become its children. An exception marks the span `error` and
        is re-raised. The sampling decision is taken once per trace, at its root span.
        """
        check_name("span name", name)
        return self._span(name, attributes or {})

    @contextlib.contextmanager
    def _span(self, name: str, attributes: Mapping[str, Any]) -> Iterator[Span]:
        # Runs once per `with` or decorated call, so each call gets its own attribute dict.
        parent = CURRENT_SPAN.get()
        span = Span(
            name=name,
            trace_id=parent.trace_id if parent else new_trace_id(),
            span_id=new_span_id(),
            parent_span_id=parent.span_id if parent else None,
            sampled=parent.sampled if parent else self._sample(),
            attributes=dict(attributes),
        )
        token = CURRENT_SPAN.set(span)
        try:
            yield span
        except BaseException as exc:
            span.status = "error"
            span.attributes.setdefault("error_type", type(exc).__name__)
            raise
        finally:
            CURRENT_SPAN.reset(token)
            span.end()
            self._submit_span(span)

    def _submit_span(self, span: Span) -> None:
        payload = {
            **self._tags,
            **span.attributes,
            "trace_id": span.trace_id,
            "span_id": span.span_id,
            "parent_span_id": span.parent_span_id,
            "service": self.config.service,
            "latency_ms": span.duration_ms,
            "status": span.status,
        }
        self._submit(event_record("trace", span.name, payload, span.start), keep=span.sampled)

    # -- buffering and flushing ------------------------------------------------------------

    def _stamp(self, timestamp: dt.datetime | None) -> dt.datetime:
        """The caller's timestamp, or now, made strictly increasing (1 µs steps) per client.

        The pipeline treats records with the same content as one (retries are absorbed that
        way), so two identical increments in the same microsecond would count once. Distinct
        timestamps keep them apart within a process; see the package docstring for several.
        """
        if timestamp is not None:
            return timestamp
        with self._lock:
            now = max(dt.datetime.now(dt.UTC), self._last_stamp + dt.timedelta(microseconds=1))
            self._last_stamp = now
            return now

    def _sample(self) -> bool:
        with self._lock:
            return self._sampler.keep()

    def _submit(self, record: Record, keep: bool | None = None) -> None:
        """Count, sample and buffer one valid record; a disabled client only validated it."""
        if self._exporter is None:
            return
        with self._lock:
            if self._closed:
                self._recorded += 1
                self._buffer.count_dropped()
                return
            self._recorded += 1
            if not (self._sampler.keep() if keep is None else keep):
                self._sampled_out += 1
                return
            self._buffer.offer(record)

    def flush(self) -> None:
        """Export everything buffered now; returns when the exporter has taken it."""
        if self._exporter is None:
            return
        with self._export_lock:
            by_kind: dict[RecordKind, list[bytes]] = {}
            for record in self._buffer.drain():
                by_kind.setdefault(record.kind, []).append(record.line)
            for kind, lines in by_kind.items():
                try:
                    delivered = self._exporter.export(kind, lines)
                except Exception:
                    log.exception("telemetry: exporting %d %s records failed", len(lines), kind)
                    delivered = 0
                with self._lock:
                    self._exported += delivered
                    self._failed += len(lines) - delivered
            try:
                self._exporter.tick()
            except Exception:
                log.exception("telemetry: exporter housekeeping failed")

    def _run(self) -> None:
        """Flush thread: every interval, or as soon as the buffer reaches its high-water mark."""
        interval_s = self.config.flush_interval_ms / 1000
        while not self._stop.is_set():
            self._buffer.high_water_reached.wait(interval_s)
            if self._stop.is_set():
                return  # close() flushes what is left on its own thread
            self.flush()

    def close(self) -> None:
        """Stop the flush thread, export what is buffered, close the exporter. Idempotent."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        if self._exporter is None:
            return
        atexit.unregister(self.close)
        self._stop.set()
        self._buffer.high_water_reached.set()
        if self._thread is not None:
            self._thread.join()
        self.flush()
        try:
            self._exporter.close()
        except Exception:
            log.exception("telemetry: closing the exporter failed")

    def __enter__(self) -> TelemetryClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def stats(self) -> TelemetryStats:
        with self._lock:
            return TelemetryStats(
                recorded=self._recorded,
                exported=self._exported,
                failed=self._failed,
                dropped=self._buffer.dropped,
                sampled_out=self._sampled_out,
                buffered=len(self._buffer),
            )
