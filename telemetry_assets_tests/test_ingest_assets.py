"""The ingest assets wired through Dagster, on small generated landing folders."""

import datetime as dt
import os

import dagster as dg
import pytest

from telemetry_assets import dedup, staging
from telemetry_assets.defs.ingest.assets import ingest_stats
from telemetry_assets.defs.partitions import daily_partitions
from telemetry_assets.schemas.tables import EVENTS, INGEST_STATS, QUARANTINE
from telemetry_assets_tests.factories import jsonl, v1_record, write_file

D1 = dt.date(2025, 3, 1)


def stats(pipeline, day):
    return pipeline.table(INGEST_STATS, day).row(0, named=True)


def test_single_day_end_to_end(pipeline):
    write_file(
        pipeline.landing,
        "events-2025-03-01T10.jsonl",
        jsonl(v1_record(event="a"), v1_record(event="b"), "{bad", v1_record(event="")),
    )
    result = pipeline.materialize("2025-03-01")
    assert result.success
    assert sorted(pipeline.table(EVENTS, D1)["event"].to_list()) == ["a", "b"]
    quarantined = pipeline.table(QUARANTINE, D1)
    assert quarantined.select("source_file", "source_line", "reason").rows() == [
        ("events-2025-03-01T10.jsonl", 3, "invalid_json"),
        ("events-2025-03-01T10.jsonl", 4, "empty_event"),
    ]
    assert quarantined["raw"].to_list()[0] == "{bad"
    assert stats(pipeline, D1) == {
        "date": D1,
        "records_read": 4,
        "valid": 2,
        "duplicates_removed": 0,
        "quarantined": 2,
    }
    checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    ingest = {
        "conservation",
        "malformed_ratio",
        "events_schema",
        "quarantine_schema",
        "ingest_stats_schema",
        "event_counts_match_events",
        "active_users_nested",
    }
    assert ingest <= checks.keys()
    assert all(checks.values()), checks


def materialization_metadata(result, asset_name):
    (event,) = [
        m for m in result.get_asset_materialization_events() if m.asset_key.path[-1] == asset_name
    ][:1]
    return {k: v.value for k, v in event.materialization.metadata.items()}


def test_redelivered_file_counts_its_copies_as_duplicates(pipeline):
    body = jsonl(*(v1_record(event=f"e{i}") for i in range(5)))
    write_file(pipeline.landing, "events-2025-03-01T10.jsonl", body)
    write_file(pipeline.landing, "retry/events-2025-03-01T10.jsonl.gz", body)
    assert pipeline.materialize("2025-03-01").success
    assert pipeline.table(EVENTS, D1).height == 5
    assert set(pipeline.table(EVENTS, D1)["source_file"]) == {"events-2025-03-01T10.jsonl"}
    assert stats(pipeline, D1) == {
        "date": D1,
        "records_read": 10,
        "valid": 5,
        "duplicates_removed": 5,
        "quarantined": 0,
    }


def test_unchanged_file_is_not_parsed_again_and_changed_file_replaces_rows(pipeline):
    path = write_file(
        pipeline.landing,
        "events-2025-03-01T10.jsonl",
        jsonl(v1_record(event="a"), v1_record(event="b")),
    )
    first = pipeline.materialize("2025-03-01", selection="raw_events")
    assert materialization_metadata(first, "raw_events")["files_parsed"] == 1
    again = pipeline.materialize("2025-03-01", selection="raw_events")
    assert materialization_metadata(again, "raw_events")["files_parsed"] == 0
    assert materialization_metadata(again, "raw_events")["files_reused"] == 1

    path.write_bytes(jsonl(v1_record(event="a"), v1_record(event="c"), v1_record(event="d")))
    os.utime(path, ns=(1, 1))
    changed = pipeline.materialize("2025-03-01")
    assert materialization_metadata(changed, "raw_events")["files_parsed"] == 1
    assert sorted(pipeline.table(EVENTS, D1)["event"]) == ["a", "c", "d"]
    assert stats(pipeline, D1)["records_read"] == 3


def test_deleted_file_rows_leave_the_day(pipeline):
    keep = write_file(pipeline.landing, "events-2025-03-01T10.jsonl", jsonl(v1_record(event="a")))
    gone = write_file(pipeline.landing, "events-2025-03-01T11.jsonl", jsonl(v1_record(event="b")))
    assert pipeline.materialize("2025-03-01").success
    gone.unlink()
    result = pipeline.materialize("2025-03-01")
    assert materialization_metadata(result, "raw_events")["files_removed"] == [
        "events-2025-03-01T11.jsonl"
    ]
    assert pipeline.table(EVENTS, D1)["event"].to_list() == ["a"]
    assert keep.exists()


def test_late_and_early_records_land_on_their_event_day(pipeline):
    write_file(
        pipeline.landing,
        "events-2025-03-03T00.jsonl",
        jsonl(
            v1_record(event="one_day_late", timestamp="2025-03-02T23:00:00Z"),
            v1_record(event="two_days_late", timestamp="2025-03-01T08:00:00-02:00"),
            v1_record(event="three_days_late", timestamp="2025-02-28T12:00:00Z"),
            v1_record(event="on_time", timestamp="2025-03-03T00:10:00Z"),
        ),
    )
    write_file(
        pipeline.landing,
        "late/events-2025-02-28T23.jsonl",
        jsonl(
            v1_record(event="one_day_early", timestamp="2025-03-01T00:05:00Z"),
        ),
    )
    result = pipeline.materialize("2025-02-28", "2025-03-03")
    assert result.success
    events = pipeline.table(EVENTS).select("event", "timestamp")
    by_day = {row["event"]: row["timestamp"].date() for row in events.iter_rows(named=True)}
    assert by_day == {
        "one_day_late": dt.date(2025, 3, 2),
        "two_days_late": dt.date(2025, 3, 1),
        "on_time": dt.date(2025, 3, 3),
        "one_day_early": dt.date(2025, 3, 1),
    }
    assert pipeline.table(QUARANTINE)["reason"].to_list() == ["too_late"]
    ledger = {
        r["date"]: (r["records_read"], r["valid"], r["quarantined"])
        for r in pipeline.table(INGEST_STATS).iter_rows(named=True)
    }
    assert ledger == {
        dt.date(2025, 2, 28): (0, 0, 0),
        dt.date(2025, 3, 1): (2, 2, 0),
        dt.date(2025, 3, 2): (1, 1, 0),
        dt.date(2025, 3, 3): (2, 1, 1),
    }
    # Each day's materialization carries that day's own row count and file, not the run's.
    for table, expected in (("events", [0, 2, 1, 1]), ("ingest_stats", [1, 1, 1, 1])):
        by_day = {
            m.partition: m.materialization.metadata
            for m in result.get_asset_materialization_events()
            if m.asset_key.path[-1] == table
        }
        assert [by_day[day]["dagster/row_count"].value for day in sorted(by_day)] == expected
        assert by_day["2025-03-02"]["path"].value.endswith(
            f"{table}/date=2025-03-02/part-0.parquet"
        )


@pytest.mark.slow
def test_range_run_equals_day_by_day_runs(pipeline, tmp_path):
    for day in (1, 2, 3):
        write_file(
            pipeline.landing,
            f"events-2025-03-0{day}T12.jsonl",
            jsonl(
                v1_record(event="x", timestamp=f"2025-03-0{day}T12:00:00Z"),
                v1_record(event="late", timestamp=f"2025-03-0{day}T00:00:00+01:00"),
                "{broken",
            ),
        )
    assert pipeline.materialize("2025-03-01", "2025-03-03").success
    as_range = {
        t: pipeline.table(t).sort(pipeline.table(t).columns)
        for t in ("events", "quarantine", "ingest_stats")
    }
    # events[D] reads raw_events D-1 .. D+2, so per-day runs see late and early records once
    # every file day they came in has been staged (the sensor re-requests those days).
    daily = type(pipeline)(landing=pipeline.landing, warehouse=tmp_path / "daily")
    days = ("2025-03-01", "2025-03-02", "2025-03-03")
    for day in days:
        assert daily.materialize(day, selection="raw_events").success
    for day in days:
        assert daily.materialize(day).success
    for name, frame in as_range.items():
        assert daily.table(name).sort(frame.columns).equals(frame), name


@dg.asset(
    partitions_def=daily_partitions,
    deps=[ingest_stats],
    backfill_policy=dg.BackfillPolicy.single_run(),
)
def downstream_metric() -> None:
    """Stands in for any metric that must not be computed over a day that failed its checks."""


def materialized_assets(result) -> set[str]:
    return {m.asset_key.path[-1] for m in result.get_asset_materialization_events()}


def test_malformed_ratio_blocks_downstream(pipeline):
    pipeline.max_malformed_ratio = 0.01
    write_file(
        pipeline.landing,
        "events-2025-03-01T10.jsonl",
        jsonl(*[v1_record(event=f"e{i}") for i in range(50)], "{bad"),
    )
    result = pipeline.materialize(
        "2025-03-01", extra_assets=(downstream_metric,), raise_on_error=False
    )
    assert not result.success
    evaluations = {e.check_name: e for e in result.get_asset_check_evaluations()}
    failed = evaluations["malformed_ratio"]
    assert not failed.passed
    assert failed.metadata["quarantined_by_reason"].value == {"invalid_json": 1}
    assert failed.metadata["examples"].value == ["events-2025-03-01T10.jsonl:51 invalid_json {bad"]
    assert "downstream_metric" not in materialized_assets(result)

    pipeline.max_malformed_ratio = 0.05
    result = pipeline.materialize("2025-03-01", extra_assets=(downstream_metric,))
    assert "downstream_metric" in materialized_assets(result)


def test_conservation_blocks_downstream_when_a_stage_loses_rows(pipeline, monkeypatch):
    write_file(
        pipeline.landing,
        "events-2025-03-01T10.jsonl",
        jsonl(v1_record(event="a"), v1_record(event="b")),
    )
    real = dedup.events_for_day
    monkeypatch.setattr(dedup, "events_for_day", lambda raw, day: real(raw, day).head(1))
    result = pipeline.materialize(
        "2025-03-01", extra_assets=(downstream_metric,), raise_on_error=False
    )
    evaluations = {e.check_name: e for e in result.get_asset_check_evaluations()}
    assert not evaluations["conservation"].passed
    assert evaluations["conservation"].metadata["problems"].value == [
        "2025-03-01: records_read 2 != events 1 + duplicates 0 + quarantine 0",
        "2025-03-01: ledger says valid 2, quarantined 0; the tables hold 1 events and 0 "
        "quarantine rows",
    ]
    assert "downstream_metric" not in materialized_assets(result)


def test_same_event_written_differently_is_one_event(pipeline):
    write_file(
        pipeline.landing,
        "events-2025-03-01T10.jsonl",
        jsonl(
            '{"schema_version":"telemetry_event_v1","channel":"user","event":"caf\\u00e9",'
            '"timestamp":"2025-03-01T10:00:00Z","payload":{"b":1,"a":"x"}}',
            '{ "payload" : { "a" : "x", "b" : 1 }, "timestamp" : "2025-03-01T10:00:00Z",'
            ' "event" : "café", "channel" : "user", "schema_version" : "telemetry_event_v1" }',
        ),
    )
    assert pipeline.materialize("2025-03-01").success
    (event,) = pipeline.table(EVENTS, D1).iter_rows(named=True)
    assert (event["source_line"], event["event"], event["payload"]) == (
        1,
        "café",
        '{"a":"x","b":1}',
    )
    assert stats(pipeline, D1)["duplicates_removed"] == 1


def test_files_before_the_start_date_are_reported(pipeline):
    write_file(pipeline.landing, "events-2024-12-30T10.jsonl", jsonl(v1_record()))
    write_file(pipeline.landing, "events-2025-01-01T10.jsonl", jsonl(v1_record()))
    result = pipeline.materialize("2025-01-01", selection="raw_events")
    assert materialization_metadata(result, "raw_events")["files_before_start_date"] == [
        "events-2024-12-30T10.jsonl"
    ]


def test_a_file_appended_during_the_run_is_left_to_the_next_run(pipeline, monkeypatch):
    path = write_file(pipeline.landing, "events-2025-03-01T10.jsonl", jsonl(v1_record()))
    real = staging.stage_files

    def stage_then_append(*args, **kwargs):
        staged = real(*args, **kwargs)
        with path.open("ab") as handle:  # a producer still writing its hourly file
            handle.write(jsonl(v1_record(event="later")))
        return staged

    monkeypatch.setattr(staging, "stage_files", stage_then_append)
    result = pipeline.materialize("2025-03-01")
    conservation = {e.check_name: e for e in result.get_asset_check_evaluations()}["conservation"]
    assert conservation.passed
    assert conservation.metadata["changed_since_staging"].value == [path.name]
