"""The daily schedule: shortly after midnight UTC, rebuild yesterday (late files are the
sensor's job)."""

import datetime as dt

import dagster as dg

SCHEDULE_MINUTE = 5


@dg.schedule(
    cron_schedule=f"{SCHEDULE_MINUTE} 0 * * *",
    execution_timezone="UTC",
    target=dg.AssetSelection.all(),
    default_status=dg.DefaultScheduleStatus.RUNNING,
)
def daily_schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    """Today is a partition too (end_offset=1), so the day is chosen here, not by Dagster."""
    yesterday = (context.scheduled_execution_time - dt.timedelta(days=1)).date().isoformat()
    return dg.RunRequest(run_key=f"daily-{yesterday}", partition_key=yesterday)
