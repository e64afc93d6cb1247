"""Span state: ids, parentage through a context variable, and the measured duration.

The current span lives in a `ContextVar`, so nesting follows the code's call structure in
threads and asyncio tasks alike, without passing span objects around. Ids come from
`os.urandom`, not from a seeded or forked `random.Random`, so two processes never share one.
"""

from __future__ import annotations

import datetime as dt
import os
import time
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

CURRENT_SPAN: ContextVar[Span | None] = ContextVar("telemetry_current_span", default=None)


def new_trace_id() -> str:
    """32 hex digits (16 random bytes), the W3C trace-context size."""
    return os.urandom(16).hex()


def new_span_id() -> str:
    """16 hex digits (8 random bytes), the W3C trace-context size."""
    return os.urandom(8).hex()


@dataclass
class Span:
    """One timed operation; `status` and `attributes` may be changed until the span ends."""

    name: str
    trace_id: str
    span_id: str
    parent_span_id: str | None
    sampled: bool
    attributes: dict[str, Any] = field(default_factory=dict)
    status: str = "ok"
    start: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))
    duration_ms: float | None = None
    _t0_ns: int = field(default_factory=time.perf_counter_ns, repr=False)

    def set_attribute(self, key: str, value: Any) -> None:
        self.attributes[key] = value

    def set_status(self, status: str) -> None:
        self.status = status

    def end(self) -> None:
        """Fix the duration from a monotonic clock (wall-clock jumps do not distort it)."""
        self.duration_ms = (time.perf_counter_ns() - self._t0_ns) / 1e6
