"""Preflight: every external dependency answers with the configured settings, or a
StackError naming the setting to fix."""

from __future__ import annotations

from .servers import s3_client
from .settings import StackError, say, setting


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
    import botocore.config
    import botocore.exceptions

    endpoint, bucket = setting("TELEMETRY_S3_ENDPOINT"), setting("TELEMETRY_S3_BUCKET")
    client = s3_client(
        endpoint,
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
    check_data_dirs()
    say("preflight ok: PostgreSQL, Redis and the S3 bucket answer with the configured settings")


def check_data_dirs() -> None:
    """The landing, warehouse and reports locations take writes, checked the way the code
    location checks them before a run."""
    from telemetry_assets import object_storage, settings, warehouse

    for setting_ in (settings.LANDING_DIR, settings.WAREHOUSE_DIR, settings.REPORTS_DIR):
        location = object_storage.resolve(settings.env_value(setting_))
        try:
            warehouse.check_writable(location, setting_.env)
        except (PermissionError, settings.ConfigurationError) as error:
            raise StackError(str(error)) from None
