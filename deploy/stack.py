"""The scaled-out stack on loopback (DESIGN.md §9): install, up, down, status, preflight.

    python deploy/stack.py install     # Debian postgresql, redis-server + the `stack` extra
    python deploy/stack.py up          # start everything, wait until each answers (idempotent)
    python deploy/stack.py down        # stop everything by pid file, bounded waits (idempotent)
    python deploy/stack.py preflight   # only check Postgres, Redis and the S3 bucket
    python deploy/stack.py status

Servers (all on 127.0.0.1, non-default ports, data/pids/logs under data/stack/): PostgreSQL
(Dagster run/event/schedule storage), Redis (Celery broker and results), moto in server mode
(S3-compatible), dagster-daemon, dagster-webserver and two Celery workers, all with
DAGSTER_HOME=data/stack/dagster_home holding deploy/dagster.yaml. Every setting is an
environment variable (defaults in SETTINGS); TELEMETRY_STACK_SERVERS lists the servers this
script runs itself (default all three: postgres redis s3) so an external one can be used.
Bad configuration fails before any Dagster process starts, naming the variable to fix.
Run with the project's Python (the venv that has the `stack` extra).
"""

from __future__ import annotations

import argparse
import contextlib
import glob
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
if str(REPO) not in sys.path:  # this checkout's code location, not another installed copy
    sys.path.insert(0, str(REPO))

SETTINGS = {
    "TELEMETRY_STACK_DIR": "data/stack",
    "TELEMETRY_STACK_SERVERS": "postgres redis s3",
    "TELEMETRY_PG_HOST": "127.0.0.1",
    "TELEMETRY_PG_PORT": "5442",
    "TELEMETRY_PG_USER": "telemetry",
    "TELEMETRY_PG_PASSWORD": "telemetry-stack",
    "TELEMETRY_PG_DB": "telemetry",
    "TELEMETRY_REDIS_PORT": "6390",
    "TELEMETRY_CELERY_BROKER": "redis://127.0.0.1:6390/0",
    "TELEMETRY_CELERY_BACKEND": "redis://127.0.0.1:6390/1",
    "TELEMETRY_S3_PORT": "5392",
    "TELEMETRY_S3_ENDPOINT": "http://127.0.0.1:5392",
    "TELEMETRY_S3_BUCKET": "telemetry",
    "AWS_ACCESS_KEY_ID": "stack-key",
    "AWS_SECRET_ACCESS_KEY": "stack-secret",
    "AWS_DEFAULT_REGION": "us-east-1",
    "TELEMETRY_WEBSERVER_PORT": "3392",
    "TELEMETRY_EXECUTOR": "celery",
    "TELEMETRY_CELERY_WORKERS": "2",
}
START_TIMEOUT = 120.0
STOP_TIMEOUT = 20.0


class StackError(RuntimeError):
    """Something the user must fix; the message says what."""


def setting(name: str) -> str:
    return os.environ.get(name, "").strip() or SETTINGS[name]


def stack_dir() -> Path:
    path = Path(setting("TELEMETRY_STACK_DIR"))
    return (path if path.is_absolute() else REPO / path).resolve()


def paths() -> dict[str, Path]:
    root = stack_dir()
    return {
        "root": root,
        "pids": root / "pids",
        "logs": root / "logs",
        "home": root / "dagster_home",
        "pg": root / "pg",
        "pgsock": root / "pgsock",
        "redis": root / "redis",
        "s3": root / "s3",
        "celery_yaml": root / "celery.yaml",
    }


def stack_env() -> dict[str, str]:
    """Environment of every stack process: the settings, DAGSTER_HOME, the code on PYTHONPATH."""
    p = paths()
    env = dict(os.environ)
    for name in SETTINGS:
        env[name] = setting(name)
    env["DAGSTER_HOME"] = str(p["home"])
    env["PYTHONPATH"] = os.pathsep.join(
        [str(REPO), *[x for x in env.get("PYTHONPATH", "").split(os.pathsep) if x]]
    )
    for name, sub in (
        ("TELEMETRY_LANDING_DIR", "landing"),
        ("TELEMETRY_WAREHOUSE_DIR", "warehouse"),
        ("TELEMETRY_REPORTS_DIR", "reports"),
    ):
        value = env.get(name, "").strip() or str(p["root"] / sub)
        env[name] = value if "://" in value else str(Path(value).resolve())
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    return env


def servers() -> set[str]:
    return set(setting("TELEMETRY_STACK_SERVERS").replace(",", " ").split())


def say(message: str) -> None:
    print(f"[stack] {message}", flush=True)


# ---------------------------------------------------------------- processes and pid files


def pid_file(name: str) -> Path:
    return paths()["pids"] / f"{name}.pid"


def read_pid(name: str) -> int | None:
    try:
        pid = int(pid_file(name).read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    return pid if alive(pid) else None


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie child of ours counts as gone
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] != "Z"
    except (OSError, IndexError):
        return True


def spawn(name: str, argv: list[str], env: dict[str, str]) -> int:
    """Start argv in its own session (so its whole process group can be stopped), log to a file."""
    running = read_pid(name)
    if running:
        say(f"{name} already running (pid {running})")
        return running
    p = paths()
    log = open(p["logs"] / f"{name}.log", "ab")  # noqa: SIM115 - the child owns it
    proc = subprocess.Popen(
        argv,
        cwd=REPO,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    log.close()
    pid_file(name).write_text(f"{proc.pid}\n")
    say(f"{name} started (pid {proc.pid}), log {p['logs'] / (name + '.log')}")
    return proc.pid


def stop_group(name: str, pid: int, timeout: float = STOP_TIMEOUT) -> None:
    """SIGTERM the process group, wait (bounded), then SIGKILL what is left."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(pid, sig)
        except ProcessLookupError:
            break
        except PermissionError:
            os.kill(pid, sig)
        deadline = time.monotonic() + (timeout if sig == signal.SIGTERM else 5)
        while time.monotonic() < deadline and group_alive(pid):
            time.sleep(0.2)
            reap(pid)
        if not group_alive(pid):
            break
        if sig == signal.SIGTERM:
            say(f"{name} (pid {pid}) did not stop within {timeout:.0f}s: killing it")
    pid_file(name).unlink(missing_ok=True)
    say(f"{name} stopped")


def reap(pid: int) -> None:
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def group_alive(pgid: int) -> bool:
    for stat in glob.glob("/proc/[0-9]*/stat"):
        try:
            fields = Path(stat).read_text().rsplit(") ", 1)[1].split()
        except (OSError, IndexError):
            continue
        if fields[0] != "Z" and int(fields[2]) == pgid:
            return True
    return False


def wait_until(what: str, check, timeout: float = START_TIMEOUT, log: str | None = None):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        if log and pid_file(log).exists() and read_pid(log) is None:
            raise StackError(f"{what} exited while starting:\n{log_tail(log)}")
        try:
            result = check()
            if result:
                return result
        except Exception as error:
            last = error
        time.sleep(0.5)
    where = f"; see {paths()['logs'] / (log + '.log')}" if log else ""
    raise StackError(f"{what} did not answer within {timeout:.0f}s ({last}){where}")


def log_tail(name: str, lines: int = 15) -> str:
    try:
        text = (paths()["logs"] / f"{name}.log").read_text(errors="replace")
    except OSError:
        return "(no log)"
    tail = text.splitlines()[-lines:]
    return "\n".join(f"    {line}" for line in tail) + f"\n  (log: {paths()['logs'] / name}.log)"


def port_open(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex((host, port)) == 0


def http_get(url: str, timeout: float = 3) -> bytes:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return response.read()


# ---------------------------------------------------------------- PostgreSQL


def pg_bin(tool: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{tool}"), key=_version_key)
    if found:
        return found[-1]
    path = shutil.which(tool)
    if path:
        return path
    raise StackError(
        f"PostgreSQL's {tool} not found: run `make stack-install` (apt-get postgresql)"
    )


def _version_key(path: str) -> int:
    try:
        return int(Path(path).parts[4])
    except (IndexError, ValueError):
        return 0


def as_pg_user(argv: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: run its tools as the `postgres` system user then."""
    if os.geteuid() != 0:
        return argv
    return ["runuser", "-u", "postgres", "--", *argv]


def pg_owner_ids() -> tuple[int, int]:
    if os.geteuid() != 0:
        return os.getuid(), os.getgid()
    try:
        entry = pwd.getpwnam("postgres")
    except KeyError:
        raise StackError(
            "running as root but there is no `postgres` system user to run PostgreSQL; "
            "run `make stack-install` (apt-get install postgresql creates it)"
        ) from None
    return entry.pw_uid, entry.pw_gid


def start_postgres(env: dict[str, str]) -> None:
    p = paths()
    port = setting("TELEMETRY_PG_PORT")
    uid, gid = pg_owner_ids()
    for folder in (p["pg"], p["pgsock"]):
        folder.mkdir(parents=True, exist_ok=True)
        os.chown(folder, uid, gid)
    os.chmod(p["pg"], 0o700)
    if not (p["pg"] / "PG_VERSION").exists():
        say(f"initialising a PostgreSQL cluster in {p['pg']}")
        run(
            as_pg_user(
                [
                    pg_bin("initdb"),
                    "-D",
                    str(p["pg"]),
                    "-U",
                    "postgres",
                    "-E",
                    "UTF8",
                    "--auth-local=trust",
                    "--auth-host=scram-sha-256",
                    "--no-instructions",
                ]
            ),
            "initdb",
        )
    if (
        subprocess.run(
            as_pg_user([pg_bin("pg_ctl"), "-D", str(p["pg"]), "status"]), capture_output=True
        ).returncode
        != 0
    ):
        if port_open("127.0.0.1", int(port)):
            raise StackError(
                f"port {port} on 127.0.0.1 is taken by another program; "
                "choose a free one with TELEMETRY_PG_PORT"
            )
        log = p["logs"] / "postgres.log"
        log.touch()
        os.chown(log, uid, gid)
        options = (
            f"-c listen_addresses=127.0.0.1 -p {port} "
            f"-c unix_socket_directories={p['pgsock']} -c max_connections=200 "
            "-c fsync=off -c synchronous_commit=off"
        )
        run(
            as_pg_user(
                [
                    pg_bin("pg_ctl"),
                    "-D",
                    str(p["pg"]),
                    "-l",
                    str(log),
                    "-w",
                    "-t",
                    "60",
                    "-o",
                    options,
                    "start",
                ]
            ),
            "pg_ctl start",
        )
    pid = (p["pg"] / "postmaster.pid").read_text().split()[0]
    pid_file("postgres").write_text(f"{pid}\n")
    say(f"postgres running on 127.0.0.1:{port} (pid {pid})")
    user, password, db = (
        setting(n) for n in ("TELEMETRY_PG_USER", "TELEMETRY_PG_PASSWORD", "TELEMETRY_PG_DB")
    )
    psql = as_pg_user(
        [
            pg_bin("psql"),
            "-h",
            str(p["pgsock"]),
            "-p",
            port,
            "-U",
            "postgres",
            "-d",
            "postgres",
            "-v",
            "ON_ERROR_STOP=1",
            "-qtAc",
        ]
    )
    lit = password.replace("'", "''")
    exists = subprocess.run(
        [*psql, f"SELECT 1 FROM pg_roles WHERE rolname = '{user}'"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    verb = "ALTER" if exists else "CREATE"
    run([*psql, f"{verb} ROLE \"{user}\" LOGIN PASSWORD '{lit}'"], "create role")
    has_db = subprocess.run(
        [*psql, f"SELECT 1 FROM pg_database WHERE datname = '{db}'"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    if not has_db:
        run([*psql, f'CREATE DATABASE "{db}" OWNER "{user}"'], "create database")


def stop_postgres() -> None:
    p = paths()
    if not (p["pg"] / "PG_VERSION").exists():
        return
    result = subprocess.run(
        as_pg_user(
            [
                pg_bin("pg_ctl"),
                "-D",
                str(p["pg"]),
                "-m",
                "fast",
                "-w",
                "-t",
                str(int(STOP_TIMEOUT)),
                "stop",
            ]
        ),
        capture_output=True,
        text=True,
    )
    pid = read_pid("postgres")
    if pid:  # pg_ctl could not stop it in time
        stop_group("postgres", pid)
    pid_file("postgres").unlink(missing_ok=True)
    if result.returncode == 0:
        say("postgres stopped")


def run(argv: list[str], what: str) -> None:
    result = subprocess.run(argv, capture_output=True, text=True)
    if result.returncode != 0:
        raise StackError(f"{what} failed ({result.returncode}): {result.stderr.strip()[-800:]}")


# ---------------------------------------------------------------- preflight


def check_postgres() -> None:
    import psycopg2

    host, port, user, db = (
        setting(n)
        for n in ("TELEMETRY_PG_HOST", "TELEMETRY_PG_PORT", "TELEMETRY_PG_USER", "TELEMETRY_PG_DB")
    )
    try:
        psycopg2.connect(
            host=host,
            port=int(port),
            user=user,
            dbname=db,
            connect_timeout=5,
            password=setting("TELEMETRY_PG_PASSWORD"),
        ).close()
    except ValueError:
        raise StackError(f"TELEMETRY_PG_PORT={port!r} is not a port number") from None
    except psycopg2.OperationalError as error:
        text = str(error).strip().splitlines()[0] if str(error).strip() else repr(error)
        if "password" in text or "authentication" in text:
            hint = "check TELEMETRY_PG_USER / TELEMETRY_PG_PASSWORD"
        elif "does not exist" in text:
            hint = "check TELEMETRY_PG_DB / TELEMETRY_PG_USER (create the database and role)"
        else:
            hint = (
                f"nothing answers at {host}:{port}: start PostgreSQL there or fix "
                "TELEMETRY_PG_HOST / TELEMETRY_PG_PORT"
            )
        raise StackError(
            f"PostgreSQL at {host}:{port} (db {db}, user {user}): {text}; {hint}"
        ) from None


def check_redis() -> None:
    import redis

    for name in ("TELEMETRY_CELERY_BROKER", "TELEMETRY_CELERY_BACKEND"):
        url = setting(name)
        try:
            redis.Redis.from_url(url, socket_connect_timeout=3, socket_timeout=3).ping()
        except (redis.RedisError, ValueError, OSError) as error:
            raise StackError(
                f"Redis at {name}={url} does not answer ({error}); start redis-server there "
                f"or fix {name}"
            ) from None


def check_s3() -> None:
    import boto3
    import botocore.config
    import botocore.exceptions

    endpoint, bucket = setting("TELEMETRY_S3_ENDPOINT"), setting("TELEMETRY_S3_BUCKET")
    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name=setting("AWS_DEFAULT_REGION"),
        aws_access_key_id=setting("AWS_ACCESS_KEY_ID"),
        aws_secret_access_key=setting("AWS_SECRET_ACCESS_KEY"),
        config=botocore.config.Config(
            connect_timeout=3, read_timeout=5, retries={"max_attempts": 1}
        ),
    )
    try:
        client.head_bucket(Bucket=bucket)
    except botocore.exceptions.EndpointConnectionError:
        raise StackError(f"no S3 server answers at TELEMETRY_S3_ENDPOINT={endpoint}") from None
    except botocore.exceptions.ClientError as error:
        code = str(error.response.get("Error", {}).get("Code", ""))
        if code in ("404", "NoSuchBucket"):
            raise StackError(
                f"S3 bucket {bucket!r} does not exist at {endpoint}: create it "
                "or fix TELEMETRY_S3_BUCKET"
            ) from None
        if code in ("403", "401", "InvalidAccessKeyId", "SignatureDoesNotMatch", "AccessDenied"):
            raise StackError(
                f"S3 at {endpoint} refuses the credentials for bucket {bucket!r} "
                f"({code}): fix AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY"
            ) from None
        raise StackError(f"S3 bucket {bucket!r} at {endpoint}: {error}") from None


def preflight() -> None:
    """Every external dependency answers with the configured settings, or a clear error."""
    from telemetry_assets.defs.executors import celery_worker_config, executor_kind

    executor_kind()
    celery_worker_config()
    check_postgres()
    check_redis()
    check_s3()
    say("preflight ok: PostgreSQL, Redis and the S3 bucket answer with the configured settings")


# ---------------------------------------------------------------- the stack


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


def start_redis(env: dict[str, str]) -> None:
    port = setting("TELEMETRY_REDIS_PORT")
    if read_pid("redis") is None and port_open("127.0.0.1", int(port)):
        raise StackError(
            f"port {port} on 127.0.0.1 is taken by another program; "
            "choose a free one with TELEMETRY_REDIS_PORT (and the broker URLs)"
        )
    server = shutil.which("redis-server") or "/usr/bin/redis-server"
    if not Path(server).exists():
        raise StackError("redis-server not found: run `make stack-install`")
    paths()["redis"].mkdir(parents=True, exist_ok=True)
    spawn(
        "redis",
        [
            server,
            "--bind",
            "127.0.0.1",
            "--port",
            port,
            "--protected-mode",
            "yes",
            "--dir",
            str(paths()["redis"]),
            "--save",
            "",
            "--appendonly",
            "no",
            "--daemonize",
            "no",
        ],
        env,
    )
    import redis

    wait_until("redis", lambda: redis.Redis(port=int(port), socket_timeout=1).ping(), log="redis")


def start_s3(env: dict[str, str]) -> None:
    port = setting("TELEMETRY_S3_PORT")
    if read_pid("s3") is None and port_open("127.0.0.1", int(port)):
        raise StackError(
            f"port {port} on 127.0.0.1 is taken by another program; "
            "choose a free one with TELEMETRY_S3_PORT / TELEMETRY_S3_ENDPOINT"
        )
    spawn("s3", [str(BIN / "moto_server"), "-H", "127.0.0.1", "-p", port], env)
    endpoint = f"http://127.0.0.1:{port}"
    wait_until("moto S3 server", lambda: http_get(f"{endpoint}/moto-api/") is not None, log="s3")
    import boto3

    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name=setting("AWS_DEFAULT_REGION"),
        aws_access_key_id=setting("AWS_ACCESS_KEY_ID"),
        aws_secret_access_key=setting("AWS_SECRET_ACCESS_KEY"),
    )
    bucket = setting("TELEMETRY_S3_BUCKET")
    if bucket not in {b["Name"] for b in client.list_buckets().get("Buckets", [])}:
        client.create_bucket(Bucket=bucket)
        say(f"created bucket s3://{bucket}")


def graphql(query: str, variables: dict | None = None, timeout: float = 30) -> dict:
    url = f"http://127.0.0.1:{setting('TELEMETRY_WEBSERVER_PORT')}/graphql"
    body = json.dumps({"query": query, "variables": variables or {}}).encode()
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        payload = json.loads(response.read())
    if payload.get("errors"):
        raise StackError(f"GraphQL error: {payload['errors']}")
    return payload["data"]


LOCATION_QUERY = """{ workspaceOrError { ... on Workspace { locationEntries { name loadStatus
  locationOrLoadError { __typename ... on PythonError { message } } } } } }"""
DAEMON_QUERY = """{ instance { daemonHealth { allDaemonStatuses { daemonType required healthy
  } } } }"""


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


def up() -> None:
    p = paths()
    for key in ("root", "pids", "logs", "home"):
        p[key].mkdir(parents=True, exist_ok=True)
    env = stack_env()
    os.environ.update({k: env[k] for k in SETTINGS})  # preflight reads the same values
    os.environ["DAGSTER_HOME"] = env["DAGSTER_HOME"]
    wanted = servers()
    unknown = wanted - {"postgres", "redis", "s3"}
    if unknown:
        raise StackError(
            f"TELEMETRY_STACK_SERVERS names unknown servers {sorted(unknown)}; "
            "use any of: postgres redis s3"
        )
    if "postgres" in wanted:
        start_postgres(env)
    if "redis" in wanted:
        start_redis(env)
    if "s3" in wanted:
        start_s3(env)
    preflight()  # nothing Dagster starts (or writes) before every dependency answers
    for key in ("TELEMETRY_LANDING_DIR", "TELEMETRY_WAREHOUSE_DIR", "TELEMETRY_REPORTS_DIR"):
        if "://" not in env[key]:
            Path(env[key]).mkdir(parents=True, exist_ok=True)
    write_instance_files()
    port = setting("TELEMETRY_WEBSERVER_PORT")
    if read_pid("webserver") is None and port_open("127.0.0.1", int(port)):
        raise StackError(
            f"port {port} on 127.0.0.1 is taken by another program; "
            "choose a free one with TELEMETRY_WEBSERVER_PORT"
        )
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
    say(
        f"stack up: UI http://127.0.0.1:{port}, DAGSTER_HOME={p['home']}, "
        f"warehouse {env['TELEMETRY_WAREHOUSE_DIR']}"
    )


def cancel_orphaned_runs() -> None:
    """Runs whose run worker died with the stack would hold their tag-concurrency slot forever
    (the default run launcher cannot check a run worker's health): mark them canceled."""
    if not (paths()["home"] / "dagster.yaml").exists() or read_pid("postgres") is None:
        return
    env = stack_env()
    os.environ.update({k: env[k] for k in SETTINGS})
    os.environ["DAGSTER_HOME"] = env["DAGSTER_HOME"]
    from dagster import DagsterInstance, DagsterRunStatus, RunsFilter

    in_flight = [DagsterRunStatus.STARTING, DagsterRunStatus.STARTED, DagsterRunStatus.CANCELING]
    with DagsterInstance.get() as instance:
        for run in instance.get_runs(RunsFilter(statuses=in_flight)):
            instance.report_run_canceled(run, message="the stack was stopped during this run")
            say(f"run {run.run_id} was in flight when the stack stopped: marked canceled")


def down() -> None:
    for name in ["daemon", "webserver", *worker_names()]:
        pid = read_pid(name)
        if pid:
            stop_group(name, pid, timeout=10)
        else:
            pid_file(name).unlink(missing_ok=True)
    try:
        cancel_orphaned_runs()
    except Exception as error:
        say(f"could not check for orphaned runs: {error}")
    for name in ["s3", "redis"]:
        pid = read_pid(name)
        if pid:
            stop_group(name, pid)
        else:
            pid_file(name).unlink(missing_ok=True)
    for stray in paths()["pids"].glob("stack-w*.pid") if paths()["pids"].exists() else []:
        pid = read_pid(stray.stem)
        if pid:
            stop_group(stray.stem, pid)
        stray.unlink(missing_ok=True)
    stop_postgres()
    say("stack down")


def status() -> int:
    down_count = 0
    for name in ["postgres", "redis", "s3", "webserver", "daemon", *worker_names()]:
        pid = read_pid(name)
        print(f"{name:10s} {'running, pid ' + str(pid) if pid else 'not running'}")
        down_count += pid is None
    return 1 if down_count else 0


def install() -> None:
    """Debian packages if missing (as root), then the pinned `stack` extra into this Python."""
    import tomllib

    missing = []
    if not glob.glob("/usr/lib/postgresql/*/bin/initdb"):
        missing.append("postgresql")
    if not shutil.which("redis-server") and not Path("/usr/bin/redis-server").exists():
        missing.append("redis-server")
    if missing:
        if os.geteuid() != 0 or not shutil.which("apt-get"):
            raise StackError(
                f"install {' '.join(missing)} (Debian: apt-get install "
                f"{' '.join(missing)}); this script can only do it as root"
            )
        say(f"apt-get install {' '.join(missing)}")
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
        subprocess.run(["apt-get", "install", "-y", "-qq", *missing], check=True, env=env)
    pins = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["optional-dependencies"][
        "stack"
    ]
    # The extra's pins, each transitive dependency held to requirements.lock.
    lock = ["-c", str(REPO / "requirements.lock")]
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", *lock, *pins], check=True)
    say("installed: " + ", ".join(pins))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["install", "up", "down", "status", "preflight"])
    args = parser.parse_args(argv)
    try:
        if args.command == "install":
            install()
        elif args.command == "up":
            try:
                up()
            except BaseException:
                say("start-up failed: stopping what was started")
                down()
                raise
        elif args.command == "down":
            down()
        elif args.command == "status":
            return status()
        else:
            preflight()
    except StackError as error:
        print(f"[stack] ERROR: {error}", file=sys.stderr, flush=True)
        return 2
    except Exception as error:  # configuration errors from the code location
        if type(error).__name__ == "ConfigurationError":
            print(f"[stack] ERROR: {error}", file=sys.stderr, flush=True)
            return 2
        raise
    return 0


if __name__ == "__main__":
    sys.exit(main())
