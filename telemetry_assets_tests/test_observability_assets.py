"""The log_patterns asset: mined from log records of both log formats, ids stable across days."""

import polars as pl

from telemetry_assets_tests.factories import jsonl, v1_record, write_file


def log_line(ts: str, message: str, level: str = "error", service: str = "api") -> dict:
    return {"ts": ts, "service": service, "level": level, "message": message}


def test_patterns_keep_their_ids_across_days_and_are_new_once(pipeline):
    for day, users in (("2025-03-01", (7, 8, 9)), ("2025-03-02", (11, 12))):
        write_file(
            pipeline.landing,
            f"logs-{day}T10.jsonl",
            jsonl(*(log_line(f"{day}T10:00:0{n % 10}Z", f"user {n} failed login") for n in users)),
        )
    write_file(
        pipeline.landing,
        "events-2025-03-02T11.jsonl",
        jsonl(
            v1_record(
                channel="log",
                event="INFO",
                timestamp="2025-03-02T11:00:00Z",
                payload={"service": "web", "message": "cache warmed in 35 ms"},
            )
        ),
    )
    result = pipeline.materialize("2025-03-01", "2025-03-02")
    assert result.success
    rows = pipeline.table("log_patterns").sort("date", "template")
    first, second = (rows.filter(pl.col("date") == pl.date(2025, 3, d)) for d in (1, 2))
    (login,) = first.rows(named=True)
    assert login["count"] == 3 and login["is_new"] and login["levels"] == ["ERROR"]
    again = second.filter(pl.col("pattern_id") == login["pattern_id"]).row(0, named=True)
    assert again["count"] == 2 and not again["is_new"]
    cache = second.filter(pl.col("pattern_id") != login["pattern_id"]).row(0, named=True)
    assert cache["is_new"] and cache["services"] == ["web"] and "<*>" in cache["template"]
    checks = {e.check_name: e for e in result.get_asset_check_evaluations()}
    assert not checks["no_new_serious_patterns"].passed  # the ERROR pattern is new on day 1


def test_rerunning_a_day_gives_the_same_rows(pipeline):
    write_file(
        pipeline.landing,
        "logs-2025-03-01T10.jsonl",
        jsonl(*(log_line("2025-03-01T10:00:00Z", f"job {n} done", "info") for n in range(5))),
    )
    pipeline.materialize("2025-03-01")
    before = pipeline.table("log_patterns")
    pipeline.materialize("2025-03-01")
    assert pipeline.table("log_patterns").equals(before)


def cpu_day(day: str, spike_hour: int | None = None) -> bytes:
    samples = []
    for hour in range(24):
        for minute in (0, 20, 40):
            value = 50.0 + (hour * 7 + minute) % 5
            if hour == spike_hour:
                value = 99.0
            samples.append(
                {
                    "timestamp": f"{day}T{hour:02d}:{minute:02d}:00Z",
                    "service": "api",
                    "metric_type": "cpu",
                    "value": value,
                }
            )
    return jsonl(*samples)


def test_anomalies_flag_a_spike_and_never_look_ahead(pipeline):
    days = ["2025-03-01", "2025-03-02", "2025-03-03", "2025-03-04"]
    for day in days[:3]:
        write_file(pipeline.landing, f"metrics-{day}T00.jsonl", cpu_day(day))
    pipeline.materialize(days[0], days[2])
    before = pipeline.table("anomalies").filter(pl.col("date") == pl.date(2025, 3, 3))
    write_file(pipeline.landing, f"metrics-{days[3]}T00.jsonl", cpu_day(days[3], spike_hour=12))
    pipeline.materialize(days[0], days[3])
    rows = pipeline.table("anomalies")
    cpu = rows.filter((pl.col("metric") == "cpu") & (pl.col("date") == pl.date(2025, 3, 4)))
    assert cpu.height == 24
    top = cpu.sort("score", descending=True).row(0, named=True)
    assert (top["hour"], top["is_anomaly"], top["value"]) == (12, True, 99.0)
    assert top["upper"] < 99.0 and top["severity"] in ("warning", "critical")
    assert rows.filter(pl.col("date") == pl.date(2025, 3, 3)).equals(before)
