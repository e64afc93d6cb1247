import datetime as dt

import dagster as dg

from telemetry_assets.definitions import defs
from telemetry_assets.defs.schedules import daily_schedule


def test_daily_schedule_builds_yesterday_shortly_after_midnight():
    assert daily_schedule.cron_schedule == "5 0 * * *"
    assert daily_schedule.execution_timezone == "UTC"
    when = dt.datetime(2025, 3, 5, 0, 5, tzinfo=dt.UTC)
    context = dg.build_schedule_context(
        scheduled_execution_time=when, repository_def=defs.get_repository_def()
    )
    data = daily_schedule.evaluate_tick(context)
    (request,) = data.run_requests
    assert request.partition_key == "2025-03-04"
    assert request.run_key == "daily-2025-03-04"
