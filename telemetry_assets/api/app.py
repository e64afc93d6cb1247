"""The FastAPI app: ingest into landing files, queries, the live metric stream, /metrics."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

import orjson
from fastapi import FastAPI, Query, Request, Response, WebSocket
from pydantic import BaseModel

from telemetry_assets.api import bodies, errors, pipeline
from telemetry_assets.api.committer import Committer
from telemetry_assets.api.config import ServiceConfig
from telemetry_assets.api.errors import ApiError
from telemetry_assets.api.exposition import CONTENT_TYPE, ServiceMetrics
from telemetry_assets.api.landing import LandingFiles, recover
from telemetry_assets.api.live import LiveFeed, MetricStream
from telemetry_assets.api.middleware import BearerAuth, RequestMetrics
from telemetry_assets.api.pipeline import Kind
from telemetry_assets.api.queries import Queries

MAX_LIMIT = 10_000


class Rejection(BaseModel):
    index: int
    reason: str


class IngestReceipt(BaseModel):
    """202: every record is durable in `file`. `rejected` lists the records the pipeline will
    quarantine, with the reason its gate gives."""

    received: int
    accepted: int
    rejected: list[Rejection]
    file: str


_BODY_DOC: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            bodies.JSON: {"schema": {"type": "array", "items": {"type": "object"}}},
            bodies.NDJSON: {"schema": {"type": "string", "description": "one record a line"}},
        },
    }
}
_ERROR_DOC: dict[int | str, dict[str, Any]] = {
    status: {"description": "refused; nothing written; body {error: {code, message}}"}
    for status in (400, 401, 413, 415)
}

Since = Annotated[dt.datetime | None, Query(description="ISO 8601; no zone means UTC")]
Until = Annotated[dt.datetime | None, Query(description="ISO 8601; no zone means UTC")]
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT)]


def _utc(moment: dt.datetime | None) -> dt.datetime | None:
    """No zone means UTC, as in the landing contract."""
    if moment is None:
        return None
    return moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment.astimezone(dt.UTC)


Window = tuple[dt.datetime | None, dt.datetime | None]


def _window(since: dt.datetime | None, until: dt.datetime | None) -> Window:
    since, until = _utc(since), _utc(until)
    if since and until and since > until:
        raise ApiError(400, "invalid_range", "since is after until")
    return since, until


def _json(value: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(value), status_code=status, media_type="application/json")


def create_app(config: ServiceConfig) -> FastAPI:
    metrics = ServiceMetrics(pipeline.ledger)
    feed = LiveFeed(config.live_rows, MetricStream(config.ws_queue, metrics))
    queries = Queries(feed.metrics, feed.logs)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        config.landing_dir.mkdir(parents=True, exist_ok=True)
        recover(config.landing_dir)
        await asyncio.to_thread(pipeline.warm_up)
        feed.loop = asyncio.get_running_loop()
        files = LandingFiles(config.landing_dir, config.roll_seconds, config.roll_bytes)
        committer = Committer(files, metrics, feed.accept)
        committer.start()
        app.state.committer = committer
        try:
            yield
        finally:
            await asyncio.to_thread(committer.stop)

    app = FastAPI(
        title="Telemetry API",
        summary="Collector, queries, live metric stream and Prometheus metrics (DESIGN §8)",
        lifespan=lifespan,
    )
    errors.install(app)

    async def ingest(kind: Kind, request: Request) -> Response:
        media = bodies.media_type(request)
        records = bodies.parse_records(
            await bodies.read_body(request, config.max_body_bytes), media, config.max_records
        )
        if kind is Kind.METRICS:
            records = [bodies.as_metric_sample(r) for r in records]
        lines = [bodies.encode(r) for r in records]
        try:
            receipt = await asyncio.wrap_future(request.app.state.committer.submit(kind, lines))
        except Exception as error:  # not acknowledged: the client re-sends, dedup absorbs it
            raise ApiError(503, "not_stored", f"records were not stored: {error}") from None
        reasons = receipt.verdicts.reasons
        rejected = [{"index": i, "reason": r} for i, r in enumerate(reasons) if r is not None]
        body = {
            "received": len(reasons),
            "accepted": len(reasons) - len(rejected),
            "rejected": rejected,
            "file": receipt.file,
        }
        return _json(body, 202)

    ingest_doc: dict[str, Any] = {
        "status_code": 202,
        "response_model": IngestReceipt,
        "openapi_extra": _BODY_DOC,
        "responses": _ERROR_DOC,
    }

    @app.post("/ingest/events", **ingest_doc)
    async def ingest_events(request: Request) -> Response:
        """Format A (`telemetry_event_v1`) records."""
        return await ingest(Kind.EVENTS, request)

    @app.post("/ingest/metrics", **ingest_doc)
    async def ingest_metrics(request: Request) -> Response:
        """Format C samples, or TelemetryHub's `{service, metric, value, ts, labels}`."""
        return await ingest(Kind.METRICS, request)

    @app.post("/ingest/logs", **ingest_doc)
    async def ingest_logs(request: Request) -> Response:
        """Format D log records `{ts, service, level, message, context?}`."""
        return await ingest(Kind.LOGS, request)

    @app.get("/")
    async def heartbeat() -> dict[str, str]:
        return {"status": "ok", "time": dt.datetime.now(dt.UTC).isoformat()}

    @app.get("/query/metrics")
    def query_metrics(
        service: str | None = None,
        metric: str | None = None,
        since: Since = None,
        until: Until = None,
        limit: Limit = 1000,
    ) -> Response:
        """Metric samples, newest first: warehouse plus what arrived since the last run."""
        since, until = _window(since, until)
        return _json({"rows": queries.metrics(service, metric, since, until, limit)})

    @app.get("/query/logs")
    def query_logs(
        service: str | None = None,
        level: str | None = None,
        since: Since = None,
        until: Until = None,
        limit: Limit = 1000,
    ) -> Response:
        """Log records, newest first; `level` is matched as the pipeline stores it (upper case,
        `warn` -> `WARNING`, `fatal` -> `CRITICAL`)."""
        since, until = _window(since, until)
        level = pipeline.log_level(level) if level else None
        return _json({"rows": queries.logs(service, level, since, until, limit)})

    @app.get("/services")
    def services() -> Response:
        return _json({"services": queries.services()})

    def hourly_route(table: str, path: str) -> None:
        def handler(
            service: str | None = None,
            metric: str | None = None,
            since: Since = None,
            until: Until = None,
            limit: Limit = 1000,
        ) -> Response:
            since, until = _window(since, until)
            return _json({"rows": queries.hourly(table, service, metric, since, until, limit)})

        handler.__doc__ = f"Rows of the warehouse `{table}` table, newest hour first."
        app.get(path, name=table)(handler)

    hourly_route(pipeline.ALERTS_TABLE, "/alerts")
    hourly_route(pipeline.ANOMALIES_TABLE, "/anomalies")

    @app.get("/metrics")
    def prometheus() -> Response:
        return Response(metrics.render(), media_type=CONTENT_TYPE)

    @app.websocket("/ws/metrics")
    async def ws_metrics(
        websocket: WebSocket, service: str | None = None, metric: str | None = None
    ) -> None:
        """Accepted metric samples as `{"samples": [...]}` messages, one per ingest request
        with matching samples; a client that lags `TELEMETRY_API_WS_QUEUE` messages behind is
        closed with code 1013."""
        await feed.stream.serve(websocket, service, metric)

    app.add_middleware(BearerAuth, token=config.token)
    app.add_middleware(RequestMetrics, metrics=metrics)
    return app
