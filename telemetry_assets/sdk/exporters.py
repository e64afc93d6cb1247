"""Where flushed records go: the exporter interface, the console exporter, and the factory.

An exporter is only ever called from one thread at a time (the client serialises flushes), so
implementations keep plain state. `export` reports how many records were delivered instead of
raising, so one failed batch is counted as failed and never stops the flush thread.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Protocol, TextIO

from .config import TelemetryConfig
from .records import RecordKind


class Exporter(Protocol):
    def export(self, kind: RecordKind, lines: Sequence[bytes]) -> int:
        """Send serialised records of one kind; return how many were delivered."""
        ...

    def tick(self) -> None:
        """Called on every flush, even an empty one: time-based housekeeping (rolling files)."""
        ...

    def close(self) -> None:
        """Release resources; everything exported before is delivered afterwards."""
        ...


class ConsoleExporter:
    """Prints `<kind> <json>` lines to a stream (stdout by default), for debugging."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream

    def export(self, kind: RecordKind, lines: Sequence[bytes]) -> int:
        # Looked up per call: sys.stdout may be replaced after the client was built.
        stream = self._stream if self._stream is not None else sys.stdout
        stream.write("".join(f"{kind} {line.decode('utf-8')}\n" for line in lines))
        stream.flush()
        return len(lines)

    def tick(self) -> None:
        return None

    def close(self) -> None:
        return None


def build_exporter(config: TelemetryConfig) -> Exporter:
    """The exporter named by `config.exporter`, built from its settings."""
    if config.exporter == "http":
        from .http_export import HttpExporter

        return HttpExporter(
            config.http_url,
            token=config.http_token,
            timeout_s=config.http_timeout_s,
            max_attempts=config.http_max_attempts,
            backoff_base_s=config.http_backoff_base_s,
            backoff_max_s=config.http_backoff_max_s,
            max_body_bytes=config.http_max_body_bytes,
        )
    if config.exporter == "landing":
        from .landing_export import LandingFileExporter

        return LandingFileExporter(
            config.landing_dir,
            max_bytes=config.landing_max_bytes,
            max_age_s=config.landing_max_age_s,
        )
    return ConsoleExporter()
