"""The landing sensor with build_sensor_context: new, repeated, changed and deleted files."""

import datetime as dt
import json
import os

import dagster as dg
import pytest

from telemetry_assets.definitions import defs
from telemetry_assets.defs.resources import LandingZone
from telemetry_assets.defs.sensors import WINDOW_ASSETS, diff_landing, landing_sensor
from telemetry_assets.landing.files import scan_landing
from telemetry_assets_tests.factories import jsonl, v1_record, write_file


def tick(landing, cursor=None, instance=None):
    context = dg.build_sensor_context(
        cursor=cursor,
        instance=instance or dg.DagsterInstance.ephemeral(),
        definitions=defs,
        resources={"landing": LandingZone(landing_dir=str(landing))},
    )
    return landing_sensor(context)


def requested(result) -> dict[str, object]:
    """The one core run a tick asks for: its assets (None = all) and its day range."""
    (request,) = result.run_requests
    return {
        "assets": request.asset_selection,
        "first": request.tags["dagster/asset_partition_range_start"],
        "last": request.tags["dagster/asset_partition_range_end"],
    }


def test_new_file_requests_one_run_over_the_event_days_it_feeds(tmp_path):
    write_file(tmp_path, "events-2025-03-05T10.jsonl", jsonl(v1_record()))
    result = tick(tmp_path)
    # file day D feeds event days D-2 .. D+1: one plain run of every asset over them
    assert requested(result) == {"assets": None, "first": "2025-03-03", "last": "2025-03-06"}
    assert not result.run_requests[0].requires_backfill_daemon()
    # the 30-day windows of later days wait in the cursor for that run to succeed
    (pending,) = json.loads(result.cursor)["pending"]
    assert (pending["first"], pending["last"]) == ("2025-03-07", "2025-04-04")


def test_window_run_follows_once_the_core_run_succeeded(tmp_path):
    write_file(tmp_path, "events-2025-03-05T10.jsonl", jsonl(v1_record()))
    instance = dg.DagsterInstance.ephemeral()
    first = tick(tmp_path, instance=instance)
    waiting = tick(tmp_path, first.cursor, instance=instance)
    assert isinstance(waiting, dg.SkipReason)
    core = first.run_requests[0]
    instance.create_run_for_job(
        job_def=defs.resolve_implicit_global_asset_job_def(),
        tags=core.tags,
        status=dg.DagsterRunStatus.SUCCESS,
    )
    follow = tick(tmp_path, first.cursor, instance=instance)
    (request,) = follow.run_requests
    assert request.asset_selection == WINDOW_ASSETS
    assert request.tags["dagster/asset_partition_range_start"] == "2025-03-07"
    assert json.loads(follow.cursor)["pending"] == []


def test_window_assets_are_everything_below_active_users():
    graph = defs.resolve_asset_graph()
    below = dg.AssetSelection.assets("active_users", "anomalies", "dashboard").downstream()
    assert sorted(WINDOW_ASSETS) == sorted(below.resolve(graph))


def test_same_file_again_requests_nothing_and_change_requests_again(tmp_path):
    path = write_file(tmp_path, "late/events-2025-03-05T10.jsonl", jsonl(v1_record()))
    first = tick(tmp_path)
    again = tick(tmp_path, first.cursor)
    assert isinstance(again, dg.SkipReason)
    path.write_bytes(jsonl(v1_record(), v1_record(event="more")))
    os.utime(path, ns=(10**18, 10**18))
    changed = tick(tmp_path, first.cursor)
    assert requested(changed)["first"] == "2025-03-03"
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
    assert requested(after)["first"] == "2025-03-05"
    files = json.loads(after.cursor)["files"]
    assert keep.name in files and gone.name not in files


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


def test_a_cursor_of_the_previous_version_is_understood(tmp_path):
    write_file(tmp_path, "events-2025-03-05T10.jsonl", jsonl(v1_record()))
    files = json.loads(tick(tmp_path).cursor)["files"]
    assert isinstance(tick(tmp_path, json.dumps(files)), dg.SkipReason)
