"""Figures are plain plotly JSON: each must still be a figure plotly itself accepts, and
labels from data must arrive escaped."""

import datetime as dt

import plotly.graph_objects as go
import polars as pl
import pytest

from telemetry_assets.reporting import figures

DAYS = [dt.date(2025, 3, 1), dt.date(2025, 3, 2)]
SERVICES = ["api", "<b>svc</b>"]


def health() -> pl.DataFrame:
    return pl.DataFrame(
        [
            {
                "date": d,
                "service": s,
                "hour": h,
                "p95": 10.0 + h,
                "throughput": 5.0,
                "error_rate": 0.1,
            }
            for d in DAYS
            for s in SERVICES
            for h in (0, 1)
        ]
    )


def latency() -> pl.DataFrame:
    return pl.DataFrame(
        [
            {"date": d, "service": s, "p50": 1.0, "p95": 2.0, "p99": 3.0}
            for d in DAYS
            for s in SERVICES
        ]
    )


def usage() -> pl.DataFrame:
    return pl.DataFrame(
        {"date": DAYS * 2, "feature_id": ["a", "a", "<i>b</i>", "c"], "events": [2, 1, 3, 2]}
    ).with_columns(users=pl.col("events"))


def anomalies() -> pl.DataFrame:
    return pl.DataFrame(
        [
            {
                "date": d,
                "hour": h,
                "service": s,
                "metric": "p95",
                "value": 1.0 * h,
                "lower": 0.0,
                "upper": 2.0,
                "score": 0.1 * h,
                "is_anomaly": h == 2,
            }
            for d in DAYS
            for s in SERVICES
            for h in range(3)
        ]
    )


ALL = {
    "feature_usage": lambda: figures.feature_usage(usage()),
    "event_counts": lambda: figures.event_counts(
        pl.DataFrame({"channel": ["app", "app"], "event": ["<x>", "y"], "events": [2, 1]})
    ),
    "latency_by_key": lambda: figures.latency_by_key(latency(), "service", "Latency"),
    "quarantine_by_reason": lambda: figures.quarantine_by_reason(
        pl.DataFrame({"date": DAYS, "reason": ["bad_json", "<r>"], "records": [1, 2]}), "Q"
    ),
    "health_heatmap": lambda: figures.health_heatmap(health(), "Heat"),
    "latency_trend": lambda: figures.latency_trend(latency()),
    "throughput_area": lambda: figures.throughput_area(health()),
    "error_rate_bars": lambda: figures.error_rate_bars(health()),
    "active_users": lambda: figures.active_users(
        pl.DataFrame({"date": DAYS, "dau": [1, 2], "wau": [None, 2], "mau": [None, None]})
    ),
    "top_features": lambda: figures.top_features(usage(), limit=2),
    "anomaly_bands": lambda: figures.anomaly_bands(anomalies(), limit=2),
}


@pytest.mark.parametrize("name", sorted(ALL))
def test_every_figure_is_valid_plotly_with_titles_and_escaped_labels(name):
    fig = ALL[name]()
    checked = go.Figure(fig)  # raises on any property plotly.js does not know
    assert checked.layout.title.text
    assert checked.layout.xaxis.title.text and checked.layout.yaxis.title.text
    assert checked.layout.template.layout.paper_bgcolor == "white"  # plotly_white
    text = checked.to_json()
    assert "<b>" not in text and "<i>" not in text and "<x>" not in text and "<r>" not in text


def test_anomaly_panels_use_their_own_axes():
    fig = go.Figure(figures.anomaly_bands(anomalies(), limit=2))
    assert {(t.xaxis, t.yaxis) for t in fig.data} == {("x", "y"), ("x2", "y2")}
    assert [a.text for a in fig.layout.annotations] == ["api / p95", "&lt;b&gt;svc&lt;/b&gt; / p95"]


def test_ties_are_ordered_so_the_same_tables_give_the_same_figure():
    a = figures.top_features(usage(), limit=2)
    b = figures.top_features(usage().reverse(), limit=2)
    assert a == b
    assert a["data"][0]["y"] == ["a", "&lt;i&gt;b&lt;/i&gt;"]
