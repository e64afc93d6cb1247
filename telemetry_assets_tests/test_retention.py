"""Retention: what expires (never a window's input), atomic deletion, the job and its ledger."""

import datetime as dt
import json

import dagster as dg
import pytest

from telemetry_assets import retention, settings
from telemetry_assets.definitions import ASSETS, CHECKS
from telemetry_assets.defs.resources import Warehouse
from telemetry_assets.defs.retention import (
    LEDGER_DIR,
    LEDGER_NAME,
    Retention,
    _schedule_status,
    retention_job,
    retention_schedule,
)
from telemetry_assets.retention import (
    FAMILIES,
    FAMILY_OF,
    RetentionPolicy,
    delete_partition,
    expired_partitions,
)
from telemetry_assets.schemas.tables import TABLES
from telemetry_assets.windows import ANOMALY_HISTORY_DAYS, EARLY_DAYS, USER_WINDOW_DAYS
from telemetry_assets_tests.factories import jsonl, metric_record, v1_record, write_file

REF = dt.date(2025, 6, 30)


def day(offset: int) -> dt.date:
    return REF + dt.timedelta(days=offset)


def every_table_written(first: int = -120, last: int = 0) -> dict[str, list[dt.date]]:
    days = [day(o) for o in range(first, last + 1)]
    return {name: days for name in TABLES}


# --- the policy ---


def test_every_table_has_exactly_one_family():
    assert set(FAMILY_OF) == set(TABLES)
    assert sum(len(t) for t in FAMILIES.values()) == len(TABLES)


def test_nothing_expires_without_a_policy():
    assert expired_partitions(every_table_written(), RetentionPolicy(), REF) == {}


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("TELEMETRY_RETAIN_RAW_DAYS", "-1"),
        ("TELEMETRY_RETAIN_EVENTS_DAYS", "a week"),
        ("TELEMETRY_RETAIN_AGGREGATE_DAYS", "7.5"),
    ],
)
def test_bad_env_values_fail_naming_the_variable(monkeypatch, variable, value):
    monkeypatch.setenv(variable, value)
    with pytest.raises(settings.ConfigurationError, match=f"{variable}='{value}'"):
        RetentionPolicy.from_env()
    with pytest.raises(settings.ConfigurationError, match=variable):
        Retention.from_env()


def test_resource_fields_are_validated_too():
    with pytest.raises(Exception, match="TELEMETRY_RETAIN_EVENTS_DAYS"):
        Retention(raw_days=1, events_days=-2, aggregate_days=0)


def test_env_policy_and_schedule_status(monkeypatch):
    for name in ("RAW", "EVENTS", "AGGREGATE"):
        monkeypatch.delenv(f"TELEMETRY_RETAIN_{name}_DAYS", raising=False)
    assert RetentionPolicy.from_env() == RetentionPolicy(0, 0, 0)
    assert _schedule_status() == dg.DefaultScheduleStatus.STOPPED
    monkeypatch.setenv("TELEMETRY_RETAIN_AGGREGATE_DAYS", " 7 ")
    assert RetentionPolicy.from_env() == RetentionPolicy(0, 0, 7)
    assert _schedule_status() == dg.DefaultScheduleStatus.RUNNING


# --- what expires ---


def test_aggregates_kept_seven_days_keep_the_windows_they_read():
    expired = expired_partitions(every_table_written(), RetentionPolicy(aggregate_days=7), REF)
    oldest_kept = day(-6)
    for table in FAMILIES[retention.AGGREGATES]:
        assert expired[table] == [d for d in every_table_written()[table] if d < oldest_kept]
    # active_users[oldest kept] reads daily_users of trailing(oldest kept, 30).
    users_from = oldest_kept - dt.timedelta(days=USER_WINDOW_DAYS - 1)
    assert max(expired["daily_users"]) == users_from - dt.timedelta(days=1)
    # anomalies[oldest kept] reads metric_series of trailing(oldest kept, 28 + 1).
    series_from = oldest_kept - dt.timedelta(days=ANOMALY_HISTORY_DAYS)
    assert max(expired["metric_series"]) == series_from - dt.timedelta(days=1)
    # the miner's state before the oldest kept log_patterns day stays.
    assert max(expired["log_pattern_state"]) == oldest_kept - dt.timedelta(days=2)
    # raw and events have no policy: untouched.
    assert not {"raw_events", "quarantine", "events"} & set(expired)


def test_the_latest_state_before_the_kept_days_stays_even_across_gaps():
    written = {"log_pattern_state": [day(-40), day(-20), day(-12), day(-1)]}
    expired = expired_partitions(written, RetentionPolicy(aggregate_days=7), REF)
    assert expired == {"log_pattern_state": [day(-40), day(-20)]}


def test_raw_stays_while_a_kept_events_day_can_be_rebuilt_from_it():
    written = every_table_written()
    policy = RetentionPolicy(raw_days=1, events_days=3)
    expired = expired_partitions(written, policy, REF)
    events_from = day(-2)
    assert min(d for d in written["events"] if d not in expired["events"]) == events_from
    raw_from = events_from - dt.timedelta(days=EARLY_DAYS)  # file days D-1 .. D+LATE of D
    for table in ("raw_events", "quarantine"):
        assert expired[table] == [d for d in written[table] if d < raw_from]


def test_raw_is_kept_while_events_are_kept_forever():
    expired = expired_partitions(every_table_written(), RetentionPolicy(raw_days=1), REF)
    assert expired == {}


def test_raw_policy_longer_than_the_events_window_wins():
    expired = expired_partitions(
        every_table_written(), RetentionPolicy(raw_days=30, events_days=2), REF
    )
    assert max(expired["raw_events"]) == day(-30)


def test_the_first_day_with_events_is_kept():
    written = every_table_written()
    expired = expired_partitions(
        written, RetentionPolicy(events_days=2), REF, first_event_day=day(-100)
    )
    assert day(-100) not in expired["events"]
    assert day(-101) in expired["events"] and day(-99) in expired["events"]


def test_days_after_the_reference_day_never_expire():
    expired = expired_partitions(
        every_table_written(first=-10, last=5), RetentionPolicy(1, 1, 1), REF
    )
    assert all(d < REF for days in expired.values() for d in days)


def test_unknown_tables_are_never_touched():
    written = {"someone_elses": [day(-400)]}
    assert expired_partitions(written, RetentionPolicy(1, 1, 1), REF) == {}


# --- deleting ---


def test_a_day_is_removed_whole_and_reported(tmp_path):
    folder = tmp_path / "events" / "date=2025-06-01"
    folder.mkdir(parents=True)
    (folder / "part-0.parquet").write_bytes(b"x" * 100)
    (folder / "part-1.parquet").write_bytes(b"y" * 20)
    leftover = tmp_path / "events" / ".date=2025-05-01.abc.deleting"
    leftover.mkdir()
    done = delete_partition(tmp_path, "events", dt.date(2025, 6, 1))
    assert done == retention.Deletion("events", dt.date(2025, 6, 1), files=2, bytes=120)
    assert not folder.exists() and not leftover.exists()
    assert [p.name for p in (tmp_path / "events").iterdir()] == [".lock"]
    assert delete_partition(tmp_path, "events", dt.date(2025, 6, 1)) is None


# --- the job on a warehouse built by the real pipeline ---

FIRST = dt.date(2025, 3, 1)
LAST = dt.date(2025, 3, 12)


def landing_days(landing) -> None:
    for offset in range((LAST - FIRST).days + 1):
        d = FIRST + dt.timedelta(days=offset)
        records = [
            v1_record(
                timestamp=f"{d}T{10 + n % 5:02d}:00:00Z",
                payload={"user_id": f"u{(offset + n) % 9}", "feature_id": "search"},
            )
            for n in range(4 + offset % 3)
        ]
        records.append(
            v1_record(
                event="info",
                channel="log",
                timestamp=f"{d}T08:00:00Z",
                payload={"message": f"user {offset} logged in", "service": "api"},
            )
        )
        records.append(metric_record(value=10.0 + offset, timestamp=f"{d}T05:00:00Z"))
        records.append("not json")
        write_file(landing, f"events-{d}T12.jsonl", jsonl(*records))


def days_of(pipeline, table: str) -> list[dt.date]:
    return sorted(
        dt.date.fromisoformat(p.name.removeprefix("date="))
        for p in (pipeline.warehouse / table).glob("date=*")
    )


def test_the_job_deletes_expired_days_keeps_windows_and_records_them(pipeline):
    landing_days(pipeline.landing)
    assert pipeline.materialize(FIRST.isoformat(), LAST.isoformat()).success
    before = {name: days_of(pipeline, name) for name in TABLES}
    active_before = pipeline.table("active_users").sort("date")
    events_kept_before = pipeline.table("events", dt.date(2025, 3, 11)).sort("event_id")

    policy = Retention(raw_days=1, events_days=2, aggregate_days=3)
    resources = {
        "warehouse_store": Warehouse(warehouse_dir=str(pipeline.warehouse)),
        "retention": policy,
    }
    dry = retention_job.execute_in_process(
        run_config={
            "ops": {
                "delete_expired_partitions": {
                    "config": {"reference_day": LAST.isoformat(), "dry_run": True}
                }
            }
        },
        resources=resources,
    )
    assert dry.output_for_node("delete_expired_partitions") == {}
    assert {name: days_of(pipeline, name) for name in TABLES} == before
    assert not (pipeline.warehouse / LEDGER_DIR / LEDGER_NAME).exists()
    result = retention_job.execute_in_process(
        run_config={
            "ops": {"delete_expired_partitions": {"config": {"reference_day": LAST.isoformat()}}}
        },
        resources=resources,
    )
    assert result.success
    deleted = result.output_for_node("delete_expired_partitions")

    expected = expired_partitions(before, policy.policy(), LAST, first_event_day=FIRST)
    assert deleted == {t: [d.isoformat() for d in days] for t, days in expected.items()}
    assert set(deleted) >= {"events", "raw_events", "quarantine", "active_users"}
    for name in TABLES:
        gone = set(expected.get(name, []))
        assert days_of(pipeline, name) == [d for d in before[name] if d not in gone], name
        assert not [p for p in (pipeline.warehouse / name).glob(".*deleting")]
    # the windows of kept days: all daily_users and metric_series stay; first events day stays
    assert "daily_users" not in deleted and "metric_series" not in deleted
    assert FIRST in days_of(pipeline, "events")
    assert days_of(pipeline, "raw_events")[0] == dt.date(2025, 3, 10)

    ledger = [
        json.loads(line)
        for line in (pipeline.warehouse / LEDGER_DIR / LEDGER_NAME).read_text().splitlines()
    ]
    assert sorted((r["table"], r["date"]) for r in ledger) == sorted(
        (t, d) for t, days in deleted.items() for d in days
    )
    assert all(r["bytes"] > 0 and r["reference_day"] == "2025-03-12" for r in ledger)
    output = next(e for e in result.all_events if e.is_successful_output)
    metadata = output.step_output_data.metadata
    assert metadata["deleted_partitions"].value == len(ledger)
    assert metadata["deleted_bytes"].value == sum(r["bytes"] for r in ledger)

    # a kept day recomputed gives the same numbers; a kept events day still rebuilds and its
    # conservation still checks
    kept = [d for d in days_of(pipeline, "active_users")]
    assert pipeline.materialize(
        kept[0].isoformat(), kept[-1].isoformat(), selection="active_users"
    ).success
    assert (
        pipeline.table("active_users")
        .sort("date")
        .equals(active_before.filter(active_before["date"].is_in(kept)))
    )
    assert pipeline.materialize("2025-03-11", selection=["events", "ingest_stats"]).success
    assert (
        pipeline.table("events", dt.date(2025, 3, 11)).sort("event_id").equals(events_kept_before)
    )

    # a second run finds nothing more to delete and appends nothing
    again = retention_job.execute_in_process(
        run_config={
            "ops": {"delete_expired_partitions": {"config": {"reference_day": LAST.isoformat()}}}
        },
        resources=resources,
    )
    assert again.output_for_node("delete_expired_partitions") == {}
    assert len((pipeline.warehouse / LEDGER_DIR / LEDGER_NAME).read_text().splitlines()) == len(
        ledger
    )


def test_deleted_days_are_observed_in_their_asset_history(pipeline):
    landing_days(pipeline.landing)
    policy = Retention(raw_days=1, events_days=1, aggregate_days=0)
    resources = {**pipeline.resources(), "retention": policy}
    with dg.instance_for_test() as instance:
        assert dg.materialize(
            [*ASSETS, *CHECKS],
            selection=["raw_events"],
            instance=instance,
            resources=resources,
            tags={
                "dagster/asset_partition_range_start": FIRST.isoformat(),
                "dagster/asset_partition_range_end": LAST.isoformat(),
            },
        ).success
        key = dg.AssetKey("raw_events")
        before = instance.get_materialized_partitions(key)
        result = retention_job.execute_in_process(
            run_config={
                "ops": {
                    "delete_expired_partitions": {"config": {"reference_day": LAST.isoformat()}}
                }
            },
            resources=resources,
            instance=instance,
        )
        deleted = set(result.output_for_node("delete_expired_partitions")["raw_events"])
        observed = instance.fetch_observations(key, limit=100).records
    assert deleted and deleted < before
    assert before - deleted == {d.isoformat() for d in days_of(pipeline, "raw_events")}
    assert {r.partition_key for r in observed} == deleted
    assert all(
        r.asset_observation.metadata["deleted_by_retention_run"].value == result.run_id
        for r in observed
    )


def test_the_schedule_asks_for_the_scheduled_day():
    context = dg.build_schedule_context(
        scheduled_execution_time=dt.datetime(2025, 3, 12, 1, 30, tzinfo=dt.UTC)
    )
    request = retention_schedule.evaluate_tick(context).run_requests[0]
    assert request.run_key == "retention-2025-03-12"
    assert request.run_config["ops"]["delete_expired_partitions"]["config"] == {
        "reference_day": "2025-03-12"
    }
