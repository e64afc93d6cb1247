"""Every metric against an independent computation (DuckDB SQL) on generated data."""

import datetime as dt
import random

import duckdb
import polars as pl
import pytest

from telemetry_assets import alerting, latency_metrics
from telemetry_assets_tests.factories import jsonl, metric_record, v1_record, write_file

FIRST = dt.date(2025, 3, 1)
DAYS = 33
LAST = FIRST + dt.timedelta(days=DAYS - 1)
FEATURES = ["search", "export", "share", 7]
SERVICES = ["api", "auth", None]


def stamp(rng: random.Random, day: dt.date) -> str:
    """Naive, Z and offset styles, some near midnight so offsets cross into another day."""
    hour = rng.choice([0, 1, 12, 22, 23])
    base = f"{day.isoformat()}T{hour:02d}:{rng.randrange(60):02d}:{rng.randrange(60):02d}"
    return base + rng.choice(["", "Z", ".5Z", "+01:00", "-02:00", ".123456789+00:00"])


def generated_landing(landing, seed=11) -> None:
    rng = random.Random(seed)
    for offset in range(DAYS):
        day = FIRST + dt.timedelta(days=offset)
        records = []
        for n in range(rng.randrange(3, 25)):
            user = rng.choice([rng.randrange(40), str(rng.randrange(40)), None, ""])
            payload = {"user_id": user, "feature_id": rng.choice(FEATURES), "n": n}
            if rng.random() < 0.8:
                payload["latency_ms"] = rng.choice([0, round(rng.uniform(1, 900), 3)])
            if (service := rng.choice(SERVICES)) is not None:
                payload["service"] = service
            records.append(
                v1_record(
                    event=rng.choice(["click", "feature_used"]),
                    channel=rng.choice(["user", "trace"]),
                    timestamp=stamp(rng, day),
                    payload=payload,
                )
            )
        records += records[:2]  # duplicates
        records.append(
            metric_record(value=round(rng.uniform(5, 50), 2), timestamp=f"{day}T05:00:00Z")
        )
        write_file(landing, f"events-{day}T12.jsonl", jsonl(*records))


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    from telemetry_assets_tests.conftest import Pipeline

    root = tmp_path_factory.mktemp("metrics")
    (root / "landing").mkdir()
    pipeline = Pipeline(landing=root / "landing", warehouse=root / "warehouse")
    generated_landing(pipeline.landing)
    assert pipeline.materialize(FIRST.isoformat(), LAST.isoformat()).success
    return pipeline


def ours(pipeline, name: str) -> list[tuple]:
    frame = pipeline.table(name)
    return sorted(frame.rows(), key=lambda r: tuple("" if v is None else str(v) for v in r))


def reference(pipeline, sql: str) -> list[tuple]:
    con = duckdb.connect()
    con.execute(
        f"create view events as select * exclude (date), cast(date as date) as date "
        f"from read_parquet('{pipeline.warehouse}/events/*/*.parquet', hive_partitioning=true)"
    )
    rows = con.execute(sql).fetchall()
    return sorted(rows, key=lambda r: tuple("" if v is None else str(v) for v in r))


def close(a: list[tuple], b: list[tuple]) -> bool:
    return len(a) == len(b) and all(
        x == y or (isinstance(x, float) and y is not None and abs(x - y) < 1e-9)
        for ra, rb in zip(a, b, strict=True)
        for x, y in zip(ra, rb, strict=True)
    )


def test_event_counts(built):
    assert ours(built, "event_counts") == reference(
        built, "select date, channel, event, count(*) from events group by all"
    )


def test_feature_usage(built):
    assert ours(built, "feature_usage") == reference(
        built,
        "select date, feature_id, count(*), count(distinct user_id) from events "
        "where feature_id is not null group by all",
    )


@pytest.mark.parametrize("key", ["feature_id", "service"])
def test_latency_percentiles_are_linear(built, key):
    table = {"feature_id": "latency_by_feature", "service": "latency_by_service"}[key]
    expected = reference(
        built,
        f"select date, {key}, count(latency_ms), quantile_cont(latency_ms, 0.5), "
        f"quantile_cont(latency_ms, 0.95), quantile_cont(latency_ms, 0.99), avg(latency_ms), "
        f"max(latency_ms) from events where latency_ms is not null and {key} is not null "
        "group by all",
    )
    assert close(ours(built, table), expected)


def test_active_users_windows(built):
    expected = reference(
        built,
        f"""
        with days as (select unnest(generate_series(date '{FIRST}', date '{LAST}',
                                                     interval 1 day))::date as d),
             first_day as (select min(date) as f from events)
        select d,
          case when d >= f then (select count(distinct user_id) from events where date = d) end,
          case when d - 6 >= f then (select count(distinct user_id) from events
                                     where date between d - 6 and d) end,
          case when d - 29 >= f then (select count(distinct user_id) from events
                                      where date between d - 29 and d) end
        from days, first_day
        """,
    )
    found = ours(built, "active_users")
    assert found == expected
    assert found[-1][3] is not None  # the data is long enough for a real MAU


def test_integer_and_string_user_ids_are_one_user(built):
    users = pl.concat(
        [pl.read_parquet(f) for f in (built.warehouse / "events").glob("*/*.parquet")]
    )["user_id"]
    assert "" not in users.to_list()
    assert users.drop_nulls().str.contains(r"^\d+$").all()


def test_active_users_reads_only_the_per_day_user_sets(built):
    result = built.materialize(LAST.isoformat(), selection="active_users")
    (event,) = result.get_asset_materialization_events()
    files = event.materialization.metadata["files_read"].value
    assert 0 < len(files) <= 30
    assert all(f.startswith("daily_users/") for f in files)


@pytest.mark.slow
def test_range_run_equals_per_day_runs(built, tmp_path):
    from telemetry_assets_tests.conftest import Pipeline

    daily = Pipeline(landing=built.landing, warehouse=tmp_path / "daily")
    days = [(FIRST + dt.timedelta(days=n)).isoformat() for n in range(DAYS)]
    # Stage every file day first: events[D] also reads the raw rows of D+1 and D+2.
    assert daily.materialize(days[0], days[-1], selection="raw_events").success
    for day in days:
        assert daily.materialize(day).success
    for name in (
        "events",
        "event_counts",
        "feature_usage",
        "active_users",
        "latency_by_feature",
        "latency_by_service",
        "service_health",
        "alerts",
        "ingest_stats",
    ):
        assert ours(daily, name) == ours(built, name), name


def test_service_health_and_alerts_rules():
    events = pl.DataFrame(
        {
            "timestamp": [dt.datetime(2025, 3, 1, 10, m, tzinfo=dt.UTC) for m in range(6)],
            "channel": ["metric", "metric", "metric", "metric", "trace", "trace"],
            "event": ["cpu", "cpu", "error_rate", "throughput", "span", "span"],
            "service": ["api"] * 6,
            "latency_ms": [None, None, None, None, 900.0, 1300.0],
            "payload": [
                '{"value":90}',
                '{"value":99}',
                '{"value":0.07}',
                '{"value":40}',
                '{"status":"ok"}',
                '{"status":503}',
            ],
        }
    ).lazy()
    health = latency_metrics.service_health(events, dt.date(2025, 3, 1))
    row = health.row(0, named=True)
    assert (row["hour"], row["requests"], row["cpu"], row["error_rate"], row["throughput"]) == (
        10,
        2,
        94.5,
        0.07,
        40.0,
    )
    assert row["p50"] == pytest.approx(1100.0)
    assert row["p95"] == pytest.approx(900 + 0.95 * 400)
    rules = [
        alerting.Threshold("p95", "above", 500, 1000),
        alerting.Threshold("cpu", "above", 80, 95),
        alerting.Threshold("error_rate", "above", 0.05, 0.10),
        alerting.Threshold("throughput", "below", 100, 50),
    ]
    found = {
        (r["metric"], r["severity"], r["threshold"])
        for r in alerting.alerts(health, rules).iter_rows(named=True)
    }
    assert found == {
        ("p95", "critical", 1000.0),
        ("cpu", "warning", 80.0),
        ("error_rate", "warning", 0.05),
        ("throughput", "critical", 50.0),
    }


def test_span_error_rate_when_no_samples():
    events = pl.DataFrame(
        {
            "timestamp": [dt.datetime(2025, 3, 1, 3, tzinfo=dt.UTC)] * 4,
            "channel": ["trace"] * 4,
            "event": ["span"] * 4,
            "service": ["billing"] * 4,
            "latency_ms": [1.0, 2.0, 3.0, 4.0],
            "payload": ['{"status":"error"}', '{"status":500}', '{"status":200}', "{}"],
        }
    ).lazy()
    assert latency_metrics.service_health(events, dt.date(2025, 3, 1))["error_rate"].item() == 0.5
