"""What the daily report and the dashboard say, built from metric frames (no I/O here)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import polars as pl

from telemetry_assets.reporting import figures, pages
from telemetry_assets.reporting.figures import Figure

TOP_FEATURES = 10
ALERT_ROWS = 50
PATTERN_ROWS = 20


@dataclass(frozen=True)
class Tables:
    """The metric tables of one day or of a range of days."""

    ingest_stats: pl.DataFrame
    quarantine_by_reason: pl.DataFrame  # date, reason, records
    event_counts: pl.DataFrame
    feature_usage: pl.DataFrame
    active_users: pl.DataFrame
    latency_by_feature: pl.DataFrame
    latency_by_service: pl.DataFrame
    service_health: pl.DataFrame
    alerts: pl.DataFrame
    anomalies: pl.DataFrame
    log_patterns: pl.DataFrame


def _number(value: object, digits: int = 1) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return f"{value:,}"


def _total(frame: pl.DataFrame, column: str) -> int:
    return int(frame[column].sum()) if not frame.is_empty() else 0


def _plain(value: object) -> str:
    """Data text for metrics.txt: one line, control characters made visible."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in str(value))


def metrics_text(
    day: dt.date, t: Tables, png_note: str | None, storage: list[str] | None = None
) -> str:
    lines = [f"Telemetry report {day.isoformat()} (UTC)", ""]
    for label, column in (
        ("records read", "records_read"),
        ("valid events", "valid"),
        ("duplicates removed", "duplicates_removed"),
        ("quarantined", "quarantined"),
    ):
        lines.append(f"{label:<22}{_total(t.ingest_stats, column):>10}")
    for row in t.quarantine_by_reason.sort("reason").iter_rows(named=True):
        lines.append(f"  {row['reason']:<24}{row['records']:>6}")
    users = t.active_users.row(0, named=True) if not t.active_users.is_empty() else {}
    lines += [
        "",
        "active users  "
        + "  ".join(f"{k.upper()} {_number(users.get(k))}" for k in ("dau", "wau", "mau")),
        "",
        f"top features{'events':>18}{'users':>10}",
    ]
    top = t.feature_usage.sort(["events", "feature_id"], descending=[True, False])
    for row in top.head(TOP_FEATURES).iter_rows(named=True):
        lines.append(f"  {_plain(row['feature_id']):<20}{row['events']:>10}{row['users']:>10}")
    lines += ["", f"latency per service (ms){'p50':>10}{'p95':>10}{'p99':>10}"]
    for row in t.latency_by_service.sort("service").iter_rows(named=True):
        lines.append(
            f"  {_plain(row['service']):<22}"
            + "".join(f"{_number(row[p]):>10}" for p in ("p50", "p95", "p99"))
        )
    if storage:
        lines += ["", "storage (landing files of the day, warehouse partitions of the day)"]
        lines += storage
    if png_note:
        lines += ["", png_note]
    return "\n".join(lines) + "\n"


def daily_figures(t: Tables) -> dict[str, Figure]:
    return {
        "feature_usage": figures.feature_usage(t.feature_usage, "Feature usage (events, users)"),
        "event_counts": figures.event_counts(t.event_counts),
        "latency_by_service": figures.latency_by_key(
            t.latency_by_service, "service", "Latency per service"
        ),
        "latency_by_feature": figures.latency_by_key(
            t.latency_by_feature, "feature_id", "Latency per feature"
        ),
        "health": figures.health_heatmap(t.service_health, "p95 latency by service and hour"),
        "quarantine": figures.quarantine_by_reason(
            t.quarantine_by_reason, "Quarantined records by reason"
        ),
    }


def _stat_cards(t: Tables) -> list[pages.Card]:
    read = _total(t.ingest_stats, "records_read")
    quarantined = _total(t.ingest_stats, "quarantined")
    latency = t.latency_by_service
    requests = int(latency["count"].sum())
    weighted_p95 = float((latency["p95"] * latency["count"]).sum()) / requests if requests else None
    last_users = t.active_users.sort("date").tail(1)
    health = t.service_health["error_rate"].drop_nulls()
    return [
        pages.Card("events", _number(_total(t.ingest_stats, "valid"))),
        pages.Card(
            "active users (last DAU)",
            _number(last_users["dau"].item() if last_users.height else None),
        ),
        pages.Card("p95 latency, request-weighted (ms)", _number(weighted_p95)),
        pages.Card(
            "error rate (mean)",
            f"{float(health.mean()):.2%}" if health.len() else "n/a",  # type: ignore[arg-type]
        ),
        pages.Card("quarantined share", f"{quarantined / read:.2%}" if read else "n/a"),
    ]


def alerts_section(alerts: pl.DataFrame) -> str:
    """The newest alerts, critical first within an hour, with a count of all of them."""
    order = [c for c in ("date", "hour") if c in alerts.columns]
    newest = alerts.sort(
        [*order, "severity", "service"], descending=[*(True for _ in order), False, False]
    ).with_columns(pl.col("value").round(3))
    counts = alerts.group_by("severity").len().sort("severity")
    summary = ", ".join(f"{n} {severity}" for severity, n in counts.iter_rows()) or "none"
    return pages.section(
        f"Alerts ({summary})",
        pages.table(newest.head(ALERT_ROWS), "no alerts"),
        pages.note(f"showing the newest {ALERT_ROWS}") if alerts.height > ALERT_ROWS else "",
    )


def daily_page(day: dt.date, t: Tables, figs: dict[str, Figure], png_note: str | None) -> str:
    body = [pages.cards(_stat_cards(t))]
    if png_note:
        body.append(pages.note(png_note))
    body += [pages.chart(fig) for fig in figs.values()]
    body.append(alerts_section(t.alerts.drop("date")))
    return pages.page(f"Telemetry report {day.isoformat()}", "all times UTC", body)


def log_patterns_section(patterns: pl.DataFrame) -> str:
    """The most frequent patterns of the range and the ones first seen in it."""
    total = patterns.group_by("pattern_id", "template").agg(
        pl.col("count").sum(),
        pl.col("services").explode().unique().sort().str.join(", "),
        pl.col("levels").explode().unique().sort().str.join(", "),
        pl.col("example").first(),
    )
    top = total.sort("count", "pattern_id", descending=[True, False]).head(PATTERN_ROWS)
    new = (
        patterns.filter("is_new")
        .sort("date", "count", descending=True)
        .head(PATTERN_ROWS)
        .with_columns(pl.col("levels").list.join(", "))
    )
    return pages.section(
        f"Log patterns ({total.height} in the range)",
        pages.table(top.drop("pattern_id"), "no log records"),
        "<h3>New patterns</h3>",
        pages.table(new.select("date", "template", "count", "levels", "example"), "none new"),
    )


def dashboard_page(first: dt.date, last: dt.date, t: Tables) -> str:
    body = [
        pages.cards(_stat_cards(t)),
        pages.chart(figures.latency_trend(t.latency_by_service)),
        pages.chart(figures.throughput_area(t.service_health)),
        pages.chart(figures.error_rate_bars(t.service_health)),
        pages.chart(figures.health_heatmap(t.service_health, "p95 latency by service and hour")),
        alerts_section(t.alerts),
        pages.chart(figures.anomaly_bands(t.anomalies)),
        log_patterns_section(t.log_patterns),
        pages.chart(figures.active_users(t.active_users)),
        pages.chart(figures.top_features(t.feature_usage, TOP_FEATURES)),
        pages.chart(
            figures.quarantine_by_reason(
                t.quarantine_by_reason, "Data quality: quarantined records by reason"
            )
        ),
    ]
    subtitle = f"{first.isoformat()} .. {last.isoformat()} (UTC), days with data"
    return pages.page("Telemetry dashboard", subtitle, body)
