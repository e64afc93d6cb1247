"""The servers the stack can run itself: PostgreSQL, Redis and moto's S3 server."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
from pathlib import Path

from .processes import (
    http_get,
    pid_file,
    read_pid,
    refuse_taken_port,
    run,
    spawn,
    stop_group,
    wait_until,
)
from .settings import BIN, STOP_TIMEOUT, StackError, paths, say, setting

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
    # From a folder the postgres user can enter (PostgreSQL's tools refuse a cwd they cannot).
    return ["runuser", "-u", "postgres", "--", "env", "-C", str(paths()["pg"].parent), *argv]


def pg_ctl(*args: str) -> list[str]:
    """pg_ctl on the stack's cluster with `args`, as the user PostgreSQL runs as."""
    return as_pg_user([pg_bin("pg_ctl"), "-D", str(paths()["pg"]), *args])


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
    if subprocess.run(pg_ctl("status"), capture_output=True).returncode != 0:
        refuse_taken_port(port, "TELEMETRY_PG_PORT")
        log = p["pglog"]
        log.parent.mkdir(parents=True, exist_ok=True)
        log.touch()
        os.chown(log, uid, gid)
        options = (
            f"-c listen_addresses=127.0.0.1 -p {port} "
            f"-c unix_socket_directories={p['pgsock']} -c max_connections=200 "
            "-c fsync=off -c synchronous_commit=off"
        )
        run(pg_ctl("-l", str(log), "-w", "-t", "60", "-o", options, "start"), "pg_ctl start")
    pid = (p["pg"] / "postmaster.pid").read_text().split()[0]
    pid_file("postgres").write_text(f"{pid}\n")
    say(f"postgres running on 127.0.0.1:{port} (pid {pid})")
    ensure_role_and_database(port)


def ensure_role_and_database(port: str) -> None:
    """The configured role (with the configured password) and its database exist."""
    user, password, db = (
        setting(n) for n in ("TELEMETRY_PG_USER", "TELEMETRY_PG_PASSWORD", "TELEMETRY_PG_DB")
    )
    psql = as_pg_user(
        [
            pg_bin("psql"),
            "-h",
            str(paths()["pgsock"]),
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

    def answer(sql: str) -> str:
        return subprocess.run(
            [*psql, sql], capture_output=True, text=True, check=True
        ).stdout.strip()

    lit = password.replace("'", "''")
    verb = "ALTER" if answer(f"SELECT 1 FROM pg_roles WHERE rolname = '{user}'") else "CREATE"
    run([*psql, f"{verb} ROLE \"{user}\" LOGIN PASSWORD '{lit}'"], "create role")
    if not answer(f"SELECT 1 FROM pg_database WHERE datname = '{db}'"):
        run([*psql, f'CREATE DATABASE "{db}" OWNER "{user}"'], "create database")


def stop_postgres() -> None:
    if not (paths()["pg"] / "PG_VERSION").exists():
        return
    result = subprocess.run(
        pg_ctl("-m", "fast", "-w", "-t", str(int(STOP_TIMEOUT)), "stop"),
        capture_output=True,
        text=True,
    )
    pid = read_pid("postgres")
    if pid:  # pg_ctl could not stop it in time
        stop_group("postgres", pid)
    pid_file("postgres").unlink(missing_ok=True)
    if result.returncode == 0:
        say("postgres stopped")


# ---------------------------------------------------------------- Redis


def start_redis(env: dict[str, str]) -> None:
    port = setting("TELEMETRY_REDIS_PORT")
    if read_pid("redis") is None:
        refuse_taken_port(port, "TELEMETRY_REDIS_PORT (and the broker URLs)")
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


# ---------------------------------------------------------------- S3 (moto)


def s3_client(endpoint: str, config=None):
    """A boto3 S3 client for `endpoint` with the configured region and credentials."""
    import boto3

    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name=setting("AWS_DEFAULT_REGION"),
        aws_access_key_id=setting("AWS_ACCESS_KEY_ID"),
        aws_secret_access_key=setting("AWS_SECRET_ACCESS_KEY"),
        config=config,
    )


def start_s3(env: dict[str, str]) -> None:
    port = setting("TELEMETRY_S3_PORT")
    if read_pid("s3") is None:
        refuse_taken_port(port, "TELEMETRY_S3_PORT / TELEMETRY_S3_ENDPOINT")
    spawn("s3", [str(BIN / "moto_server"), "-H", "127.0.0.1", "-p", port], env)
    endpoint = f"http://127.0.0.1:{port}"
    wait_until("moto S3 server", lambda: http_get(f"{endpoint}/moto-api/") is not None, log="s3")
    client = s3_client(endpoint)
    bucket = setting("TELEMETRY_S3_BUCKET")
    if bucket not in {b["Name"] for b in client.list_buckets().get("Buckets", [])}:
        client.create_bucket(Bucket=bucket)
        say(f"created bucket s3://{bucket}")
