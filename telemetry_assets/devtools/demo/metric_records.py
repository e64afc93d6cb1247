"""Valid metric samples (format C), booked under the v1 record the contract maps them to.

A sample has no event id, so its identity rests on its timestamp: distinct instants written
with at least microseconds keep every sample unique.
"""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

from .model import Day, Line, Valid
from .records import SERVICE_LATENCY, envelope, exact_stamp, identity, latency, render


def _metric_value(rng: random.Random, service: str, metric: str) -> float | int:
    if metric == "latency":
        return latency(rng, SERVICE_LATENCY[service])
    if metric == "error_rate":
        return round(min(0.2, rng.expovariate(60)), 4)
    if metric == "throughput":
        return rng.randint(40, 2000)  # requests per minute
    return round(rng.uniform(3, 97), 1)  # cpu and memory percent


def metric_sample(ctx: Day, instant: dt.datetime, service: str, metric: str) -> dict[str, Any]:
    rng = ctx.rng
    sample: dict[str, Any] = {
        "timestamp": exact_stamp(rng, instant, ("Z", "Z", "Z", "", "+01:00")),
        "service": service,
        "metric_type": metric,
        "value": _metric_value(rng, service, metric),
    }
    if rng.random() < 0.7:
        host = f"{service}-{rng.randint(1, 3)}"
        sample["tags"] = {"host": host, "region": rng.choice(("eu-west-1", "us-east-1"))}
    return sample


def _metric_as_v1(sample: dict[str, Any]) -> dict[str, Any]:
    payload = {**sample.get("tags", {}), "service": sample["service"], "value": sample["value"]}
    if sample["metric_type"] == "latency":
        payload["latency_ms"] = sample["value"]
    return envelope("metric", sample["metric_type"], sample["timestamp"], payload)


def metric_line(ctx: Day, instant: dt.datetime, service: str, metric: str) -> Line:
    sample = metric_sample(ctx, instant, service, metric)
    outcome = Valid(instant.date(), identity(_metric_as_v1(sample)))
    return Line(render(sample, ctx.rng), outcome)
