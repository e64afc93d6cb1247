"""Settings of the producer SDK, checked once when the client is built.

A misconfigured collector should fail when the application starts, not minutes later on the
flush thread where nobody sees the error; hence every limit is validated here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

ExporterName = Literal["console", "http", "landing"]


@dataclass(frozen=True)
class TelemetryConfig:
    """What a `TelemetryClient` records, how much it holds, and where it sends records.

    `service` names the producing application in every metric, log and span record;
    `tags` are global tags merged into every record (a call's own tags win on a clash).
    The exporter is chosen by `exporter`; only the settings of that exporter are used.
    """

    service: str = "app"
    enabled: bool = True
    buffer_size: int = 10_000
    flush_interval_ms: int = 1_000
    # Fraction of `buffer_size` at which the flush thread is woken before its interval ends.
    high_water: float = 0.5
    sample_rate: float = 1.0
    tags: dict[str, str | int | float | bool] = field(default_factory=dict)
    exporter: ExporterName = "console"
    # HTTP exporter: the collector service (DESIGN §8).
    http_url: str = "http://127.0.0.1:8000"
    http_token: str | None = None
    http_timeout_s: float = 10.0
    http_max_attempts: int = 5
    http_backoff_base_s: float = 0.2
    http_backoff_max_s: float = 10.0
    # Largest request body; a batch above it is split so the collector never answers 413.
    http_max_body_bytes: int = 1 << 20
    # Landing-file exporter: files of DESIGN §4 written straight into the landing folder.
    landing_dir: str = "data/landing"
    landing_max_bytes: int = 64 << 20
    # A file is also rolled after this long, so the pipeline's sensor sees records soon.
    landing_max_age_s: float = 60.0

    def __post_init__(self) -> None:
        if not self.service.strip():
            raise ValueError("service must be a non-empty name")
        if self.buffer_size < 1:
            raise ValueError(f"buffer_size must be >= 1, got {self.buffer_size}")
        if self.flush_interval_ms < 1:
            raise ValueError(f"flush_interval_ms must be >= 1, got {self.flush_interval_ms}")
        if not 0.0 < self.high_water <= 1.0:
            raise ValueError(f"high_water must be in (0, 1], got {self.high_water}")
        if not (math.isfinite(self.sample_rate) and 0.0 <= self.sample_rate <= 1.0):
            raise ValueError(f"sample_rate must be in [0, 1], got {self.sample_rate}")
        if self.exporter not in ("console", "http", "landing"):
            raise ValueError(f"exporter must be console, http or landing, got {self.exporter!r}")
        if self.http_max_attempts < 1:
            raise ValueError(f"http_max_attempts must be >= 1, got {self.http_max_attempts}")
        if self.http_max_body_bytes < 1 or self.landing_max_bytes < 1:
            raise ValueError("http_max_body_bytes and landing_max_bytes must be >= 1")
