"""ASGI middleware: bearer-token check and per-route request metrics.

Written as plain ASGI (not `BaseHTTPMiddleware`) so it also covers WebSocket handshakes and
adds no per-request task.
"""

from __future__ import annotations

import hmac
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from telemetry_assets.api.errors import error_response
from telemetry_assets.api.exposition import ServiceMetrics

OPEN_PATH = "/"  # the heartbeat: the one route that never needs the token


class BearerAuth:
    """With a token configured, every request but `GET /` must carry `Bearer <token>`."""

    def __init__(self, app: ASGIApp, token: str | None):
        self.app, self.expected = app, f"Bearer {token}".encode() if token else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.expected is None or scope["type"] not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        if scope["type"] == "http" and scope["method"] == "GET" and scope["path"] == OPEN_PATH:
            return await self.app(scope, receive, send)
        given = dict(scope["headers"]).get(b"authorization", b"")
        if hmac.compare_digest(given, self.expected):
            return await self.app(scope, receive, send)
        if scope["type"] == "websocket":  # closing before accept answers the handshake with 403
            return await send({"type": "websocket.close", "code": 1008})
        response = error_response(401, "unauthorized", "send 'Authorization: Bearer <token>'")
        response.headers["WWW-Authenticate"] = "Bearer"
        return await response(scope, receive, send)


class RequestMetrics:
    """Count and time HTTP requests per route template (never per raw path: bounded labels)."""

    def __init__(self, app: ASGIApp, metrics: ServiceMetrics):
        self.app, self.metrics = app, metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started, status = time.perf_counter(), [500]

        async def record_status(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, record_status)
        finally:
            route: Any = scope.get("route")
            label = getattr(route, "path", "unmatched")
            method = scope["method"]
            self.metrics.requests.labels(method, label, str(status[0])).inc()
            self.metrics.request_seconds.labels(method, label).observe(
                time.perf_counter() - started
            )
