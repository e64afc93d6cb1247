"""Plotly figures over the metric tables: Polars in, figure JSON (`Figure`) out.

Figures are built as the plain JSON plotly.js reads, not as `plotly.graph_objects`: validating
and deep-copying graph objects cost ~40 ms a figure, most of a daily report's time over a long
backfill, for shapes that are fixed here and checked by rendering them in a real browser (tests).
Every chart has a title, axis titles and units; every data-derived label is escaped first.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import plotly.io as pio
import polars as pl
from plotly.subplots import make_subplots

from telemetry_assets.reporting import escape

Figure = dict[str, Any]
Trace = dict[str, Any]

TEMPLATE = "plotly_white"
MARGIN = {"l": 60, "r": 20, "t": 60, "b": 60}


@cache
def _template() -> dict[str, Any]:
    """The template's validated JSON, shared (never copied) by every figure."""
    return pio.templates[TEMPLATE].to_plotly_json()


def _axis(title: str, **extra: object) -> dict[str, Any]:
    return {"title": {"text": title}, **extra}


def _figure(
    traces: list[Trace],
    title: str,
    x: str,
    y: str,
    layout: dict[str, Any] | None = None,
    **extra: object,
) -> Figure:
    """Title, axis titles and the shared layout over `layout` (e.g. a subplot grid's)."""
    merged: dict[str, Any] = {**(layout or {}), "template": _template()}
    merged |= {"title": {"text": title}, "margin": MARGIN, **extra}
    merged["xaxis"] = {**merged.get("xaxis", {}), **_axis(x)}
    merged["yaxis"] = {**merged.get("yaxis", {}), **_axis(y)}
    return {"data": traces, "layout": merged}


def _dates(part: pl.DataFrame) -> list[str]:
    return [str(d) for d in part["date"].to_list()]


def _daily_bars(data: pl.DataFrame, series: str, value: str) -> list[Trace]:
    """One bar trace per value of `series`, over the dates (labels already escaped)."""
    return [
        {"type": "bar", "name": name, "x": _dates(part), "y": part[value].to_list()}
        for (name,), part in data.partition_by(series, as_dict=True).items()
    ]


def feature_usage(usage: pl.DataFrame, title: str = "Feature usage") -> Figure:
    data = escape.frame(usage.sort("events", descending=True), ["feature_id"])
    features = data["feature_id"].to_list()
    traces = [
        {"type": "bar", "name": name, "x": features, "y": data[column].to_list()}
        for name, column in (("events", "events"), ("distinct users", "users"))
    ]
    return _figure(traces, title, "feature", "count (events / users)", barmode="group")


def event_counts(counts: pl.DataFrame) -> Figure:
    data = escape.frame(
        counts.with_columns(label=pl.format("{} / {}", "channel", "event")).sort("events"),
        ["label"],
    )
    trace = {
        "type": "bar",
        "x": data["events"].to_list(),
        "y": data["label"].to_list(),
        "orientation": "h",
    }
    return _figure(
        [trace],
        "Events by channel / event",
        "events (count)",
        "channel / event",
        layout={"yaxis": {"automargin": True, "dtick": 1}},
        height=max(400, 120 + 22 * data.height),
    )


def latency_by_key(latency: pl.DataFrame, key: str, title: str) -> Figure:
    data = escape.frame(latency.sort(key), [key])
    keys = data[key].to_list()
    traces = [
        {"type": "bar", "name": p, "x": keys, "y": data[p].to_list()} for p in ("p50", "p95", "p99")
    ]
    return _figure(traces, title, key.replace("_id", ""), "latency (ms)", barmode="group")


def quarantine_by_reason(counts: pl.DataFrame, title: str) -> Figure:
    """Counts per (date, reason) as stacked bars; an empty day still gets an axis."""
    data = escape.frame(counts, ["reason"])
    traces = _daily_bars(data, "reason", "records")
    return _figure(traces, title, "file day (UTC)", "quarantined records (count)", barmode="stack")


def health_heatmap(health: pl.DataFrame, title: str) -> Figure:
    """Service by hour of p95 latency, averaged over the days shown."""
    grid = (
        health.group_by("service", "hour")
        .agg(pl.col("p95").mean())
        .sort("service", "hour")
        .pivot(on="hour", index="service", values="p95", sort_columns=True)
    )
    hours = [c for c in grid.columns if c != "service"]
    trace = {
        "type": "heatmap",
        "z": [list(row) for row in grid.select(hours).rows()] if hours else [],
        "x": [int(h) for h in hours],
        "y": escape.column(grid["service"]),
        "colorscale": "YlOrRd",
        "colorbar": {"title": {"text": "p95 ms"}},
    }
    return _figure([trace], title, "hour of day (UTC)", "service")


def _lines(series: list[tuple[str, pl.DataFrame, str]]) -> list[Trace]:
    return [
        {
            "type": "scatter",
            "name": name,
            "x": _dates(part),
            "y": part[y].to_list(),
            "mode": "lines+markers",
        }
        for name, part, y in series
    ]


def latency_trend(latency: pl.DataFrame) -> Figure:
    data = escape.frame(latency.sort("date"), ["service"])
    traces = _lines(
        [
            (f"{service} {p}", part, p)
            for (service,), part in data.partition_by("service", as_dict=True).items()
            for p in ("p50", "p95", "p99")
        ],
    )
    return _figure(traces, "Latency per service (p50 / p95 / p99)", "date (UTC)", "latency (ms)")


def throughput_area(health: pl.DataFrame) -> Figure:
    daily = escape.frame(
        health.group_by("date", "service").agg(pl.col("throughput").mean()).sort("date", "service"),
        ["service"],
    )
    traces = [
        {
            "type": "scatter",
            "name": service,
            "x": _dates(part),
            "y": part["throughput"].to_list(),
            "stackgroup": "throughput",
            "mode": "lines",
        }
        for (service,), part in daily.partition_by("service", as_dict=True).items()
    ]
    return _figure(traces, "Throughput per service (stacked)", "date (UTC)", "requests per minute")


def error_rate_bars(health: pl.DataFrame) -> Figure:
    daily = escape.frame(
        health.group_by("date", "service")
        .agg(pl.col("error_rate").mean() * 100)
        .sort("date", "service"),
        ["service"],
    )
    traces = _daily_bars(daily, "service", "error_rate")
    return _figure(
        traces, "Error rate per service", "date (UTC)", "error rate (%)", barmode="group"
    )


def active_users(active: pl.DataFrame) -> Figure:
    data = active.sort("date")
    traces = _lines([(name.upper(), data, name) for name in ("dau", "wau", "mau")])
    return _figure(traces, "Active users (DAU / WAU / MAU)", "date (UTC)", "distinct users")


def top_features(usage: pl.DataFrame, limit: int = 10) -> Figure:
    top = (
        usage.group_by("feature_id")
        .agg(pl.col("events").sum())
        .sort(["events", "feature_id"], descending=[True, False])
        .head(limit)
        .sort(["events", "feature_id"], descending=[False, True])
    )
    data = escape.frame(top, ["feature_id"])
    trace = {
        "type": "bar",
        "x": data["events"].to_list(),
        "y": data["feature_id"].to_list(),
        "orientation": "h",
    }
    return _figure([trace], f"Top {limit} features", "events (count)", "feature")


def _panel(row: int) -> dict[str, str]:
    """The axes of subplot row `row` (plotly names them x, x2, x3, ...)."""
    suffix = "" if row == 1 else str(row)
    return {"xaxis": f"x{suffix}", "yaxis": f"y{suffix}"}


def anomaly_bands(anomalies: pl.DataFrame, limit: int = 6) -> Figure:
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
    grid = make_subplots(
        rows=max(len(names), 1), cols=1, shared_xaxes=True, subplot_titles=names or None
    )
    traces: list[Trace] = []
    for row, name in enumerate(names, start=1):
        part = timed.filter(pl.col("series") == name)
        flagged = part.filter("is_anomaly")
        at = [t.isoformat() for t in part["at"].to_list()]
        first = row == 1
        scatter = {"type": "scatter", **_panel(row)}
        traces += [
            {
                **scatter,
                "x": at,
                "y": part["upper"].to_list(),
                "line": {"width": 0},
                "showlegend": False,
            },
            {
                **scatter,
                "x": at,
                "y": part["lower"].to_list(),
                "fill": "tonexty",
                "line": {"width": 0},
                "name": "expected band",
                "opacity": 0.3,
                "showlegend": first,
            },
            {**scatter, "x": at, "y": part["value"].to_list(), "mode": "lines", "name": name},
            {
                **scatter,
                "x": [t.isoformat() for t in flagged["at"].to_list()],
                "y": flagged["value"].to_list(),
                "mode": "markers",
                "marker": {"size": 9, "symbol": "x", "color": "crimson"},
                "name": "anomaly",
                "showlegend": first,
            },
        ]
    return _figure(
        traces,
        f"Anomalies: the {limit} series with the highest scores (band = expected range)",
        "hour (UTC)",
        "value (each metric's unit)",
        layout=grid.layout.to_plotly_json(),
        height=max(400, 220 * len(names)),
    )
