"""Bringing the whole stack up, down, and reporting which of its processes run."""

from __future__ import annotations

from pathlib import Path

from .dagster_processes import start_dagster, worker_names, write_instance_files
from .preflight import preflight
from .processes import read_pid, stop_if_running
from .servers import start_postgres, start_redis, start_s3, stop_postgres
from .settings import DATA_DIR_SETTINGS, StackError, export_settings, paths, say, servers, stack_env

SERVER_STARTERS = {"postgres": start_postgres, "redis": start_redis, "s3": start_s3}


def up() -> None:
    p = paths()
    for key in ("root", "pids", "logs", "home"):
        p[key].mkdir(parents=True, exist_ok=True)
    env = stack_env()
    export_settings(env)  # preflight reads the same values
    wanted = servers()
    unknown = wanted - set(SERVER_STARTERS)
    if unknown:
        raise StackError(
            f"TELEMETRY_STACK_SERVERS names unknown servers {sorted(unknown)}; "
            "use any of: postgres redis s3"
        )
    for name, start in SERVER_STARTERS.items():
        if name in wanted:
            start(env)
    preflight()  # nothing Dagster starts (or writes) before every dependency answers
    for key in DATA_DIR_SETTINGS:
        if "://" not in env[key]:
            Path(env[key]).mkdir(parents=True, exist_ok=True)
    write_instance_files()
    port = start_dagster(env)
    say(
        f"stack up: UI http://127.0.0.1:{port}, DAGSTER_HOME={p['home']}, "
        f"warehouse {env['TELEMETRY_WAREHOUSE_DIR']}"
    )


def cancel_orphaned_runs() -> None:
    """Runs whose run worker died with the stack would hold their tag-concurrency slot forever
    (the default run launcher cannot check a run worker's health): mark them canceled."""
    if not (paths()["home"] / "dagster.yaml").exists() or read_pid("postgres") is None:
        return
    export_settings(stack_env())
    from dagster import DagsterInstance, DagsterRunStatus, RunsFilter

    in_flight = [DagsterRunStatus.STARTING, DagsterRunStatus.STARTED, DagsterRunStatus.CANCELING]
    with DagsterInstance.get() as instance:
        for run in instance.get_runs(RunsFilter(statuses=in_flight)):
            instance.report_run_canceled(run, message="the stack was stopped during this run")
            say(f"run {run.run_id} was in flight when the stack stopped: marked canceled")


def down() -> None:
    for name in ["daemon", "webserver", *worker_names()]:
        stop_if_running(name, timeout=10)
    try:
        cancel_orphaned_runs()
    except Exception as error:
        say(f"could not check for orphaned runs: {error}")
    for name in ["s3", "redis"]:
        stop_if_running(name)
    for stray in paths()["pids"].glob("stack-w*.pid") if paths()["pids"].exists() else []:
        stop_if_running(stray.stem)  # workers beyond TELEMETRY_CELERY_WORKERS
    stop_postgres()
    say("stack down")


def status() -> int:
    down_count = 0
    for name in ["postgres", "redis", "s3", "webserver", "daemon", *worker_names()]:
        pid = read_pid(name)
        print(f"{name:10s} {'running, pid ' + str(pid) if pid else 'not running'}")
        down_count += pid is None
    return 1 if down_count else 0
