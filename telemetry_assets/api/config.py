"""The service's settings, from the environment like every other switch of the project.

The landing folder, warehouse and late-day window are the pipeline's own settings (read via
`api.pipeline`), so the service and the pipeline always agree on them.
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

from telemetry_assets.api import pipeline

TOKEN_ENV = "TELEMETRY_API_TOKEN"
_LIMITS = {
    # env variable: (field, default, meaning)
    "TELEMETRY_API_ROLL_SECONDS": ("roll_seconds", 5.0, "seconds a landing file stays open"),
    "TELEMETRY_API_ROLL_BYTES": ("roll_bytes", 64 * 2**20, "bytes after which a file is rolled"),
    "TELEMETRY_API_MAX_BODY_BYTES": ("max_body_bytes", 16 * 2**20, "largest request body"),
    "TELEMETRY_API_MAX_RECORDS": ("max_records", 50_000, "most records in one request"),
    "TELEMETRY_API_WS_QUEUE": ("ws_queue", 1_000, "messages a slow WebSocket client may lag"),
    "TELEMETRY_API_LIVE_ROWS": ("live_rows", 500_000, "accepted rows kept for live queries"),
}


@dataclass(frozen=True)
class ServiceConfig:
    landing_dir: Path
    token: str | None = None
    roll_seconds: float = 5.0
    roll_bytes: int = 64 * 2**20
    max_body_bytes: int = 16 * 2**20
    max_records: int = 50_000
    ws_queue: int = 1_000
    live_rows: int = 500_000

    @classmethod
    def from_env(cls) -> ServiceConfig:
        values: dict[str, float | int] = {}
        for env, (name, default, meaning) in _LIMITS.items():
            text = os.environ.get(env, "").strip()
            try:
                value = type(default)(text) if text else default
            except ValueError:
                value = -1
            if value <= 0:
                raise pipeline.ConfigurationError(
                    f"{env}={text!r} must be a number > 0 ({meaning})"
                )
            values[name] = value
        token = os.environ.get(TOKEN_ENV, "").strip() or None
        return cls(landing_dir=pipeline.landing_dir(), token=token, **values)

    def check_bind(self, host: str) -> None:
        """Refuse to listen beyond this machine without a token: the ingest routes write files."""
        if self.token is None and not is_loopback(host):
            raise pipeline.ConfigurationError(
                f"refusing to listen on {host}: a non-loopback address needs a bearer token; "
                f"set {TOKEN_ENV} (clients then send 'Authorization: Bearer <token>') "
                "or bind 127.0.0.1"
            )


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
