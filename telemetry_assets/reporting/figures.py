"""Plotly figures over the metric tables: Polars in, `go.Figure` out.

Every chart has a title, axis titles and units; every data-derived label is escaped first.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import plotly.graph_objects as go
import plotly.io as pio
import polars as pl
from plotly.subplots import make_subplots

from telemetry_assets.reporting import escape

LAYOUT = {"template": "plotly_white", "margin": {"l": 60, "r": 20, "t": 60, "b": 60}}


@cache
def _template() -> dict[str, Any]:
    return pio.templates[str(LAYOUT["template"])].to_plotly_json()


def _merged(base: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in update.items():
        old = merged.get(key)
        both_dicts = isinstance(old, dict) and isinstance(value, dict)
        merged[key] = _merged(old, value) if both_dicts else value  # type: ignore[arg-type]
    return merged


def _layout(fig: go.Figure, title: str, x: str, y: str, **extra: object) -> go.Figure:
    """Title, axis titles and the shared layout. The template is attached as its validated
    JSON: plotly validates a named template again for every figure, which cost ~0.1 s a
    figure, more than everything else in a daily report."""
    rest = {key: value for key, value in LAYOUT.items() if key != "template"}
    update = go.Layout(title=title, xaxis_title=x, yaxis_title=y, **rest, **extra)
    layout = _merged(fig.layout.to_plotly_json(), update.to_plotly_json())
    layout.pop("template", None)  # plotly's default, replaced by ours
    layout = {"template": _template(), **layout}
    return go.Figure(data=fig.data, layout=layout, _validate=False)


def _daily_bars(data: pl.DataFrame, series: str, value: str) -> list[go.Bar]:
    """One bar trace per value of `series`, over the dates (labels already escaped)."""
    return [
        go.Bar(name=name, x=[str(d) for d in part["date"].to_list()], y=part[value].to_list())
        for (name,), part in data.partition_by(series, as_dict=True).items()
    ]


def feature_usage(usage: pl.DataFrame, title: str = "Feature usage") -> go.Figure:
    data = escape.frame(usage.sort("events", descending=True), ["feature_id"])
    fig = go.Figure(
        [
            go.Bar(name="events", x=data["feature_id"].to_list(), y=data["events"].to_list()),
            go.Bar(
                name="distinct users", x=data["feature_id"].to_list(), y=data["users"].to_list()
            ),
        ]
    )
    return _layout(fig, title, "feature", "count (events / users)", barmode="group")


def event_counts(counts: pl.DataFrame) -> go.Figure:
    data = escape.frame(
        counts.with_columns(label=pl.format("{} / {}", "channel", "event")).sort("events"),
        ["label"],
    )
    fig = go.Figure(go.Bar(x=data["events"].to_list(), y=data["label"].to_list(), orientation="h"))
    fig.update_yaxes(automargin=True, dtick=1)
    return _layout(
        fig,
        "Events by channel / event",
        "events (count)",
        "channel / event",
        height=max(400, 120 + 22 * data.height),
    )


def latency_by_key(latency: pl.DataFrame, key: str, title: str) -> go.Figure:
    data = escape.frame(latency.sort(key), [key])
    fig = go.Figure(
        [go.Bar(name=p, x=data[key].to_list(), y=data[p].to_list()) for p in ("p50", "p95", "p99")]
    )
    return _layout(fig, title, key.replace("_id", ""), "latency (ms)", barmode="group")


def quarantine_by_reason(counts: pl.DataFrame, title: str) -> go.Figure:
    """Counts per (date, reason) as stacked bars; an empty day still gets an axis."""
    data = escape.frame(counts, ["reason"])
    fig = go.Figure(_daily_bars(data, "reason", "records"))
    return _layout(fig, title, "file day (UTC)", "quarantined records (count)", barmode="stack")


def health_heatmap(health: pl.DataFrame, title: str) -> go.Figure:
    """Service by hour of p95 latency, averaged over the days shown."""
    grid = (
        health.group_by("service", "hour")
        .agg(pl.col("p95").mean())
        .sort("service", "hour")
        .pivot(on="hour", index="service", values="p95", sort_columns=True)
    )
    hours = [c for c in grid.columns if c != "service"]
    fig = go.Figure(
        go.Heatmap(
            z=grid.select(hours).rows() if hours else [],
            x=[int(h) for h in hours],
            y=escape.column(grid["service"]),
            colorscale="YlOrRd",
            colorbar={"title": "p95 ms"},
        )
    )
    return _layout(fig, title, "hour of day (UTC)", "service")


def _lines(series: list[tuple[str, pl.DataFrame, str]]) -> list[go.Scatter]:
    return [
        go.Scatter(
            name=name,
            x=[str(d) for d in part["date"].to_list()],
            y=part[y].to_list(),
            mode="lines+markers",
        )
        for name, part, y in series
    ]


def latency_trend(latency: pl.DataFrame) -> go.Figure:
    data = escape.frame(latency.sort("date"), ["service"])
    traces = _lines(
        [
            (f"{service} {p}", part, p)
            for (service,), part in data.partition_by("service", as_dict=True).items()
            for p in ("p50", "p95", "p99")
        ],
    )
    return _layout(
        go.Figure(traces), "Latency per service (p50 / p95 / p99)", "date (UTC)", "latency (ms)"
    )


def throughput_area(health: pl.DataFrame) -> go.Figure:
    daily = escape.frame(
        health.group_by("date", "service").agg(pl.col("throughput").mean()).sort("date"),
        ["service"],
    )
    fig = go.Figure(
        [
            go.Scatter(
                name=service,
                x=[str(d) for d in part["date"].to_list()],
                y=part["throughput"].to_list(),
                stackgroup="throughput",
                mode="lines",
            )
            for (service,), part in daily.partition_by("service", as_dict=True).items()
        ]
    )
    return _layout(fig, "Throughput per service (stacked)", "date (UTC)", "requests per minute")


def error_rate_bars(health: pl.DataFrame) -> go.Figure:
    daily = escape.frame(
        health.group_by("date", "service").agg(pl.col("error_rate").mean() * 100).sort("date"),
        ["service"],
    )
    fig = go.Figure(_daily_bars(daily, "service", "error_rate"))
    return _layout(fig, "Error rate per service", "date (UTC)", "error rate (%)", barmode="group")


def active_users(active: pl.DataFrame) -> go.Figure:
    data = active.sort("date")
    traces = _lines([(name.upper(), data, name) for name in ("dau", "wau", "mau")])
    return _layout(
        go.Figure(traces), "Active users (DAU / WAU / MAU)", "date (UTC)", "distinct users"
    )


def top_features(usage: pl.DataFrame, limit: int = 10) -> go.Figure:
    top = (
        usage.group_by("feature_id")
        .agg(pl.col("events").sum())
        .sort("events", descending=True)
        .head(limit)
        .sort("events")
    )
    data = escape.frame(top, ["feature_id"])
    fig = go.Figure(
        go.Bar(x=data["events"].to_list(), y=data["feature_id"].to_list(), orientation="h")
    )
    return _layout(fig, f"Top {limit} features", "events (count)", "feature")


def anomaly_bands(anomalies: pl.DataFrame, limit: int = 6) -> go.Figure:
    """The series with the highest scores, one panel each (their units differ): value, expected
    band, and the flagged hours."""
    timed = escape.frame(
        anomalies.with_columns(
            at=pl.col("date").cast(pl.Datetime) + pl.duration(hours=pl.col("hour")),
            series=pl.format("{} / {}", "service", "metric"),
        ),
        ["series"],
    ).sort("at")
    worst = (
        timed.group_by("series").agg(pl.col("score").max()).sort("score", "series", descending=True)
    )
    names = worst["series"].head(limit).to_list()
    fig = make_subplots(
        rows=max(len(names), 1), cols=1, shared_xaxes=True, subplot_titles=names or None
    )
    for row, name in enumerate(names, start=1):
        part = timed.filter(pl.col("series") == name)
        flagged = part.filter("is_anomaly")
        at = part["at"].to_list()
        for trace in (
            go.Scatter(x=at, y=part["upper"].to_list(), line={"width": 0}, showlegend=False),
            go.Scatter(
                x=at,
                y=part["lower"].to_list(),
                fill="tonexty",
                line={"width": 0},
                name="expected band",
                opacity=0.3,
                showlegend=row == 1,
            ),
            go.Scatter(x=at, y=part["value"].to_list(), mode="lines", name=name),
            go.Scatter(
                x=flagged["at"].to_list(),
                y=flagged["value"].to_list(),
                mode="markers",
                marker={"size": 9, "symbol": "x", "color": "crimson"},
                name="anomaly",
                showlegend=row == 1,
            ),
        ):
            fig.add_trace(trace, row=row, col=1)
    return _layout(
        fig,
        f"Anomalies: the {limit} series with the highest scores (band = expected range)",
        "hour (UTC)",
        "value (each metric's unit)",
        height=max(400, 220 * len(names)),
    )
