"""The landing sensor with build_sensor_context: new, repeated, changed and deleted files."""

import datetime as dt
import json
import os

import dagster as dg
import pytest

from telemetry_assets.definitions import defs
from telemetry_assets.landing.files import scan_landing
from telemetry_assets.resources import LandingZone
from telemetry_assets.sensors import diff_landing, landing_sensor
from telemetry_assets_tests.factories import jsonl, v1_record, write_file


def tick(landing, cursor=None):
    context = dg.build_sensor_context(
        cursor=cursor,
        definitions=defs,
        resources={"landing": LandingZone(landing_dir=str(landing))},
    )
    return landing_sensor(context)


def requested(result) -> dict[str, list[str]]:
    (request,) = result.run_requests
    subset = request.asset_graph_subset
    return {
        key.to_user_string(): sorted(subset.get_partitions_subset(key).get_partition_keys())
        for key in subset.asset_keys
    }


def days(first: str, last: str) -> list[str]:
    start, end = dt.date.fromisoformat(first), dt.date.fromisoformat(last)
    return [(start + dt.timedelta(n)).isoformat() for n in range((end - start).days + 1)]


def test_new_file_requests_its_day_and_every_day_that_reads_it(tmp_path):
    write_file(tmp_path, "events-2025-03-05T10.jsonl", jsonl(v1_record()))
    result = tick(tmp_path)
    partitions = requested(result)
    event_days = days("2025-03-03", "2025-03-06")  # D-2 .. D+1 read file day D
    assert partitions.pop("raw_events") == ["2025-03-05"]
    assert partitions.pop("quarantine") == ["2025-03-05"]
    # the 30-day windows ending on each affected day's next 29 days
    assert partitions.pop("active_users") == days("2025-03-03", "2025-04-04")
    assert partitions.pop("daily_report") == days("2025-03-03", "2025-04-04")  # shows MAU
    # the dashboard shows 30 days of active_users, so it follows them 29 days further
    assert partitions.pop("dashboard") == days("2025-03-03", "2025-05-03")
    assert partitions == {
        name: event_days
        for name in (
            "events",
            "ingest_stats",
            "event_counts",
            "feature_usage",
            "daily_users",
            "latency_by_feature",
            "latency_by_service",
            "service_health",
            "alerts",
        )
    }
    assert result.run_requests[0].requires_backfill_daemon()


def test_same_file_again_requests_nothing_and_change_requests_again(tmp_path):
    path = write_file(tmp_path, "late/events-2025-03-05T10.jsonl", jsonl(v1_record()))
    first = tick(tmp_path)
    again = tick(tmp_path, first.cursor)
    assert isinstance(again, dg.SkipReason)
    path.write_bytes(jsonl(v1_record(), v1_record(event="more")))
    os.utime(path, ns=(10**18, 10**18))
    changed = tick(tmp_path, first.cursor)
    assert requested(changed)["raw_events"] == ["2025-03-05"]
    assert (
        changed.run_requests[0].tags["telemetry/landing_change"]
        != (first.run_requests[0].tags["telemetry/landing_change"])
    )


def test_deleted_file_requests_its_day(tmp_path):
    keep = write_file(tmp_path, "events-2025-03-05T10.jsonl", jsonl(v1_record()))
    gone = write_file(tmp_path, "events-2025-03-07T10.jsonl", jsonl(v1_record()))
    first = tick(tmp_path)
    gone.unlink()
    after = tick(tmp_path, first.cursor)
    assert requested(after)["raw_events"] == ["2025-03-07"]
    assert keep.name in json.loads(after.cursor) and gone.name not in json.loads(after.cursor)


def test_ignored_names_do_not_trigger(tmp_path):
    write_file(tmp_path, "README.txt", b"hello")
    write_file(tmp_path, "_SUCCESS", b"")
    assert isinstance(tick(tmp_path), dg.SkipReason)


def test_missing_landing_folder_skips_with_its_name(tmp_path):
    result = tick(tmp_path / "nowhere")
    assert isinstance(result, dg.SkipReason)
    assert str(tmp_path / "nowhere") in result.skip_message


def test_tick_is_bounded_and_the_rest_follows_next_tick(tmp_path):
    for day in range(1, 6):
        write_file(tmp_path, f"events-2025-03-0{day}T00.jsonl", jsonl(v1_record()))
    files = scan_landing(tmp_path).files
    first = diff_landing({}, files, max_days=2)
    assert sorted(first.file_days) == [dt.date(2025, 3, 1), dt.date(2025, 3, 2)]
    second = diff_landing(first.cursor, files, max_days=2)
    assert sorted(second.file_days) == [dt.date(2025, 3, 3), dt.date(2025, 3, 4)]
    third = diff_landing(second.cursor, files, max_days=2)
    assert sorted(third.file_days) == [dt.date(2025, 3, 5)]
    assert diff_landing(third.cursor, files, max_days=2).file_days == frozenset()


@pytest.mark.parametrize("name", ["events-2999-01-01T00.jsonl", "events-2020-01-01T00.jsonl"])
def test_files_outside_the_partitions_wait(tmp_path, name):
    write_file(tmp_path, name, jsonl(v1_record()))
    assert isinstance(tick(tmp_path), dg.SkipReason)


def test_tick_is_valid_for_the_daemon(tmp_path):
    write_file(tmp_path, "events-2025-03-05T10.jsonl", jsonl(v1_record()))
    context = dg.build_sensor_context(
        definitions=defs, resources={"landing": LandingZone(landing_dir=str(tmp_path))}
    )
    data = landing_sensor.evaluate_tick(context)
    assert len(data.run_requests) == 1
