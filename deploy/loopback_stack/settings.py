"""Every setting of the stack (an environment variable with a default), its folders and the
environment its processes run with."""

from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
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
# The data folders' settings and, when unset, their prefix in the stack's S3 bucket
# (s3://<TELEMETRY_S3_BUCKET>/<prefix>); a local folder works too.
DATA_DIR_SETTINGS = {
    "TELEMETRY_LANDING_DIR": "landing",
    "TELEMETRY_WAREHOUSE_DIR": "warehouse",
    "TELEMETRY_REPORTS_DIR": "reports",
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


def reachable_by_others(folder: Path) -> bool:
    """Every folder on the way can be passed through by another user (o+x)."""
    return all(p.stat().st_mode & 0o001 for p in [folder, *folder.parents] if p.exists())


def postgres_dir(root: Path) -> Path:
    """Where the cluster lives. As root, PostgreSQL runs as the `postgres` user, which must be
    able to reach its folders: a checkout under a private folder (a CI clone in a 0700 temp
    dir, a home folder) gets its cluster in a folder of its own under /var/tmp instead."""
    if os.geteuid() != 0 or reachable_by_others(root):
        return root
    digest = hashlib.sha256(str(root).encode()).hexdigest()[:12]
    return Path("/var/tmp") / f"telemetry-stack-{digest}"


def paths() -> dict[str, Path]:
    root = stack_dir()
    pg_root = postgres_dir(root)
    return {
        "root": root,
        "pids": root / "pids",
        "logs": root / "logs",
        "home": root / "dagster_home",
        "pg": pg_root / "pg",
        "pgsock": pg_root / "pgsock",
        "pglog": pg_root / "logs" / "postgres.log",
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
    # The code location reads the endpoint where every AWS client does.
    env["AWS_ENDPOINT_URL"] = setting("TELEMETRY_S3_ENDPOINT")
    for name, sub in DATA_DIR_SETTINGS.items():
        value = env.get(name, "").strip() or f"s3://{setting('TELEMETRY_S3_BUCKET')}/{sub}"
        env[name] = value if "://" in value else str(Path(value).resolve())
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    return env


def export_settings(env: dict[str, str]) -> None:
    """Put the settings and DAGSTER_HOME of `env` (from stack_env) into this process's
    environment, so in-process checks and Dagster calls read the same values."""
    for name in [*SETTINGS, *DATA_DIR_SETTINGS, "AWS_ENDPOINT_URL", "DAGSTER_HOME"]:
        os.environ[name] = env[name]


def servers() -> set[str]:
    return set(setting("TELEMETRY_STACK_SERVERS").replace(",", " ").split())


def say(message: str) -> None:
    print(f"[stack] {message}", flush=True)
