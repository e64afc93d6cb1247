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
from starlette.websockets import WebSocket, WebSocketDisconnect

from telemetry_assets.api.exposition import ServiceMetrics
from telemetry_assets.api.shapes import log_rows, metric_rows


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
    queue: asyncio.Queue[str | None]  # None: dropped, close the socket

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

    async def serve(self, websocket: WebSocket, service: str | None, metric: str | None) -> None:
        """Send the subscriber's messages until it disconnects or is dropped."""
        await websocket.accept()
        subscriber = self.subscribe(service, metric)

        async def pump() -> None:
            while (message := await subscriber.queue.get()) is not None:
                await websocket.send_text(message)
            await websocket.close(code=1013, reason="too slow: dropped")

        async def watch() -> None:
            try:
                while True:
                    await websocket.receive_text()
            except WebSocketDisconnect:
                return

        tasks = {asyncio.create_task(pump()), asyncio.create_task(watch())}
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()
            self.unsubscribe(subscriber)

    def publish(self, samples: list[dict]) -> None:
        """One message per subscriber with the samples it wants, encoded once per filter."""
        messages: dict[tuple[str | None, str | None], str | None] = {}
        for subscriber in list(self.subscribers):
            key = (subscriber.service, subscriber.metric)
            if key not in messages:
                wanted = [s for s in samples if subscriber.wants(s)]
                messages[key] = orjson.dumps({"samples": wanted}).decode() if wanted else None
            message = messages[key]
            if message is None:
                continue
            try:
                subscriber.queue.put_nowait(message)
            except asyncio.QueueFull:
                self._drop(subscriber)

    def _drop(self, subscriber: Subscriber) -> None:
        """Free the laggard's queue and tell its sender to close the socket."""
        while not subscriber.queue.empty():
            subscriber.queue.get_nowait()
        subscriber.queue.put_nowait(None)
        self.unsubscribe(subscriber)
        self.metrics.ws_dropped.inc()


class LiveFeed:
    """Where accepted records go after their group commit: live buffers and the stream."""

    def __init__(self, live_rows: int, stream: MetricStream):
        self.metrics, self.logs = LiveBuffer(live_rows), LiveBuffer(live_rows)
        self.stream = stream
        self.loop: asyncio.AbstractEventLoop | None = None  # the stream's loop, set at start-up

    def accept(self, valid: list[pl.DataFrame]) -> None:
        """Runs on the committer thread after the fsync, before the requests are answered, so a
        client that got its 202 finds its records in the next query."""
        valid = [frame for frame in valid if not frame.is_empty()]
        if not valid:
            return
        accepted = pl.concat(valid).lazy()
        samples, logs = pl.collect_all([metric_rows(accepted), log_rows(accepted)])
        self.metrics.add(samples)
        self.logs.add(logs)
        if self.loop is not None and self.stream.subscribers and not samples.is_empty():
            self.loop.call_soon_threadsafe(self.stream.publish, samples.drop("event_id").to_dicts())
