"""The Dagster side of the stack: instance files, webserver, daemon, Celery workers, and the
checks that they answer."""

from __future__ import annotations

import json
import shutil
import urllib.request

from .processes import http_get, read_pid, refuse_taken_port, spawn, wait_until
from .settings import BIN, REPO, StackError, paths, setting

LOCATION_QUERY = """{ workspaceOrError { ... on Workspace { locationEntries { name loadStatus
  locationOrLoadError { __typename ... on PythonError { message } } } } } }"""
DAEMON_QUERY = """{ instance { daemonHealth { allDaemonStatuses { daemonType required healthy
  } } } }"""


def write_instance_files() -> None:
    import yaml

    from telemetry_assets.defs.executors import celery_worker_config

    p = paths()
    shutil.copyfile(REPO / "deploy" / "dagster.yaml", p["home"] / "dagster.yaml")
    config = {"execution": {"config": celery_worker_config()}}
    p["celery_yaml"].write_text(
        "# Written by deploy/stack.py from telemetry_assets/defs/executors.py; do not edit.\n"
        + yaml.safe_dump(config, sort_keys=False)
    )


def graphql(query: str, variables: dict | None = None, timeout: float = 30) -> dict:
    url = f"http://127.0.0.1:{setting('TELEMETRY_WEBSERVER_PORT')}/graphql"
    body = json.dumps({"query": query, "variables": variables or {}}).encode()
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        payload = json.loads(response.read())
    if payload.get("errors"):
        raise StackError(f"GraphQL error: {payload['errors']}")
    return payload["data"]


def code_location_loaded() -> bool:
    entries = graphql(LOCATION_QUERY)["workspaceOrError"]["locationEntries"]
    for entry in entries:
        error = entry["locationOrLoadError"] or {}
        if error.get("__typename") == "PythonError":
            raise StackError(f"code location {entry['name']} failed to load: {error['message']}")
    return bool(entries) and all(
        e["loadStatus"] == "LOADED" and e["locationOrLoadError"] for e in entries
    )


def daemons_healthy() -> bool:
    statuses = graphql(DAEMON_QUERY)["instance"]["daemonHealth"]["allDaemonStatuses"]
    return all(s["healthy"] for s in statuses if s["required"])


def worker_names() -> list[str]:
    return [f"stack-w{i}" for i in range(1, int(setting("TELEMETRY_CELERY_WORKERS")) + 1)]


def celery_app():
    from celery import Celery

    return Celery(
        "stack-ping",
        broker=setting("TELEMETRY_CELERY_BROKER"),
        backend=setting("TELEMETRY_CELERY_BACKEND"),
    )


def workers_answering(names: list[str]) -> bool:
    replies = celery_app().control.ping(timeout=1.5)
    seen = {name.split("@", 1)[0] for reply in replies for name in reply}
    return set(names) <= seen


def start_worker(name: str, env: dict[str, str]) -> int:
    # One step at a time per worker, in the worker's own process (`--pool=solo`): a forked
    # prefork child inherits Polars' thread pool from the parent and deadlocks on its first
    # parallel operation, and staging starts its own (spawned) worker processes anyway.
    return spawn(
        name,
        [
            str(BIN / "dagster-celery"),
            "worker",
            "start",
            "-A",
            "dagster_celery.app",
            "-y",
            str(paths()["celery_yaml"]),
            "-n",
            name,
            "-i",
            "telemetry_assets.definitions",
            "-l",
            "INFO",
            "--",
            "--pool=solo",
            "--without-gossip",
            "--without-mingle",
        ],
        env,
    )


def start_dagster(env: dict[str, str]) -> str:
    """Start the webserver, the daemon and the Celery workers, wait until all of them answer;
    return the webserver's port."""
    port = setting("TELEMETRY_WEBSERVER_PORT")
    if read_pid("webserver") is None:
        refuse_taken_port(port, "TELEMETRY_WEBSERVER_PORT")
    workspace = str(REPO / "workspace.yaml")
    spawn(
        "webserver",
        [str(BIN / "dagster-webserver"), "-w", workspace, "-h", "127.0.0.1", "-p", port],
        env,
    )
    spawn("daemon", [str(BIN / "dagster-daemon"), "run", "-w", workspace], env)
    names = worker_names()
    for name in names:
        start_worker(name, env)
    wait_until(
        "dagster-webserver",
        lambda: http_get(f"http://127.0.0.1:{port}/server_info"),
        log="webserver",
    )
    wait_until("the code location in the webserver", code_location_loaded, log="webserver")
    wait_until("Celery workers " + ", ".join(names), lambda: workers_answering(names), log=names[0])
    wait_until("dagster-daemon (all daemons healthy)", daemons_healthy, timeout=180, log="daemon")
    return port
