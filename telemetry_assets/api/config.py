"""The service's settings, from the environment like every other switch of the project.

The landing folder, warehouse and late-day window are the pipeline's own settings (read via
`api.pipeline`), so the service and the pipeline always agree on them.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from telemetry_assets.api import pipeline

TOKEN_ENV = "TELEMETRY_API_TOKEN"


def _limit(env: str, default: float, meaning: str) -> Any:
    """A positive number read from `env` (the default when unset)."""
    return dataclasses.field(default=default, metadata={"env": env, "meaning": meaning})


@dataclass(frozen=True)
class ServiceConfig:
    landing_dir: Path
    token: str | None = None
    roll_seconds: float = _limit("TELEMETRY_API_ROLL_SECONDS", 5.0, "seconds a file stays open")
    roll_bytes: int = _limit("TELEMETRY_API_ROLL_BYTES", 64 * 2**20, "bytes before a file rolls")
    max_body_bytes: int = _limit("TELEMETRY_API_MAX_BODY_BYTES", 16 * 2**20, "largest body")
    max_records: int = _limit("TELEMETRY_API_MAX_RECORDS", 50_000, "most records a request")
    ws_queue: int = _limit("TELEMETRY_API_WS_QUEUE", 1_000, "messages a subscriber may lag")
    live_rows: int = _limit("TELEMETRY_API_LIVE_ROWS", 500_000, "live rows kept per shape")

    @classmethod
    def from_env(cls) -> ServiceConfig:
        values: dict[str, Any] = {}
        for field in dataclasses.fields(cls):
            if "env" not in field.metadata:
                continue
            default: Any = field.default
            env, kind = field.metadata["env"], type(default)
            text = os.environ.get(env, "").strip()
            try:
                values[field.name] = value = kind(text) if text else default
            except ValueError:
                value = -1
            if value <= 0:
                raise pipeline.ConfigurationError(
                    f"{env}={text!r} must be a {'whole ' if kind is int else ''}number > 0 "
                    f"({field.metadata['meaning']})"
                )
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
