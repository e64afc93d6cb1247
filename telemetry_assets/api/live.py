"""What the service accepted since it started: the live buffer for queries and the live stream.

The warehouse only knows what the pipeline's last run read; the live buffer holds the valid
records accepted since start (bounded, oldest dropped first) so queries see them at once. The
stream pushes accepted metric samples to WebSocket subscribers through bounded queues: a
subscriber that falls behind is dropped, so a slow client never slows ingest.
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from dataclasses import dataclass, field

import orjson
import polars as pl

from telemetry_assets.api.exposition import ServiceMetrics


class LiveBuffer:
    """Valid records (rows shaped like `events`) accepted since start, at most `max_rows`."""

    def __init__(self, max_rows: int):
        self.max_rows = max_rows
        self._frames: deque[pl.DataFrame] = deque()
        self._rows = 0
        self._lock = threading.Lock()

    def add(self, frame: pl.DataFrame) -> None:
        if frame.is_empty():
            return
        with self._lock:
            self._frames.append(frame)
            self._rows += frame.height
            while self._rows > self.max_rows and len(self._frames) > 1:
                self._rows -= self._frames.popleft().height

    def frame(self) -> pl.DataFrame | None:
        with self._lock:
            frames = list(self._frames)
        return pl.concat(frames) if frames else None


@dataclass(eq=False)
class Subscriber:
    service: str | None
    metric: str | None
    queue: asyncio.Queue[bytes | None]
    dropped: bool = False

    def wants(self, sample: dict) -> bool:
        return (self.service is None or sample["service"] == self.service) and (
            self.metric is None or sample["metric"] == self.metric
        )


@dataclass
class MetricStream:
    """Fan-out of accepted metric samples; every method runs on the event loop."""

    queue_size: int
    metrics: ServiceMetrics
    subscribers: set[Subscriber] = field(default_factory=set)

    def subscribe(self, service: str | None, metric: str | None) -> Subscriber:
        subscriber = Subscriber(service, metric, asyncio.Queue(self.queue_size))
        self.subscribers.add(subscriber)
        self.metrics.ws_clients.set(len(self.subscribers))
        return subscriber

    def unsubscribe(self, subscriber: Subscriber) -> None:
        self.subscribers.discard(subscriber)
        self.metrics.ws_clients.set(len(self.subscribers))

    def publish(self, samples: list[dict]) -> None:
        """One message per subscriber with the samples it wants, encoded once per filter."""
        messages: dict[tuple[str | None, str | None], bytes | None] = {}
        for subscriber in list(self.subscribers):
            key = (subscriber.service, subscriber.metric)
            if key not in messages:
                wanted = [s for s in samples if subscriber.wants(s)]
                messages[key] = orjson.dumps({"samples": wanted}) if wanted else None
            message = messages[key]
            if message is None:
                continue
            try:
                subscriber.queue.put_nowait(message)
            except asyncio.QueueFull:
                self._drop(subscriber)

    def _drop(self, subscriber: Subscriber) -> None:
        """Free the laggard's queue and tell its sender to close the socket."""
        subscriber.dropped = True
        while not subscriber.queue.empty():
            subscriber.queue.get_nowait()
        subscriber.queue.put_nowait(None)
        self.unsubscribe(subscriber)
        self.metrics.ws_dropped.inc()
