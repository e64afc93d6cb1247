"""Threshold alerts over service_health: which service-hours cross a configured rule."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl

from telemetry_assets.schemas.tables import ALERTS


@dataclass(frozen=True)
class Threshold:
    metric: str
    direction: str
    warning: float
    critical: float


def alerts(health: pl.DataFrame, rules: Sequence[Threshold]) -> pl.DataFrame:
    """One row per service-hour and metric that crosses a rule; the worse level wins.

    "above" rules fire when the value reaches the threshold, "below" rules when it drops under.
    """
    found = []
    for rule in rules:
        value = pl.col(rule.metric)
        above = rule.direction == "above"
        crosses_critical = value >= rule.critical if above else value < rule.critical
        crosses_warning = value >= rule.warning if above else value < rule.warning
        found.append(
            health.filter(crosses_warning.fill_null(False)).select(
                "date",
                "hour",
                "service",
                metric=pl.lit(rule.metric),
                value=value,
                threshold=pl.when(crosses_critical)
                .then(float(rule.critical))
                .otherwise(float(rule.warning)),
                severity=pl.when(crosses_critical)
                .then(pl.lit("critical"))
                .otherwise(pl.lit("warning")),
            )
        )
    if not found:
        return ALERTS.empty()
    return ALERTS.conform(pl.concat(found).sort("date", "hour", "service", "metric"))
