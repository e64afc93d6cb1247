"""Which executor runs the steps, chosen by configuration (DESIGN.md §9).

`TELEMETRY_EXECUTOR` unset or `in_process` keeps the embedded default: every step in one
process. `celery` sends each step to Celery workers over a Redis broker (`dagster-celery`,
installed by the `stack` extra); the workers import this same code location and must be
started with the settings of `celery_worker_config()` (deploy/stack.py writes them).

A Celery worker that dies mid-step leaves its task unacknowledged (`task_acks_late`), so the
broker hands it to another worker once `TELEMETRY_CELERY_VISIBILITY_TIMEOUT` seconds have
passed; keep that above the longest step, or a slow step would run twice.
"""

from __future__ import annotations

import os
from typing import Any

import dagster as dg

from telemetry_assets.settings import ConfigurationError

EXECUTOR_ENV = "TELEMETRY_EXECUTOR"
BROKER_ENV = "TELEMETRY_CELERY_BROKER"
BACKEND_ENV = "TELEMETRY_CELERY_BACKEND"
VISIBILITY_ENV = "TELEMETRY_CELERY_VISIBILITY_TIMEOUT"

DEFAULT_BROKER = "redis://127.0.0.1:6390/0"
DEFAULT_VISIBILITY_TIMEOUT = 300
CHOICES = ("in_process", "multiprocess", "celery")


def _env(name: str, default: str) -> str:
    return os.environ.get(name, "").strip() or default


def executor_kind() -> str:
    kind = _env(EXECUTOR_ENV, "in_process").lower().replace("-", "_")
    if kind not in CHOICES:
        raise ConfigurationError(
            f"{EXECUTOR_ENV}={os.environ.get(EXECUTOR_ENV)!r} is not an executor; "
            f"set it to one of {', '.join(CHOICES)} (or leave it unset for in_process)"
        )
    return kind


def _visibility_timeout() -> int:
    text = _env(VISIBILITY_ENV, str(DEFAULT_VISIBILITY_TIMEOUT))
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value <= 0:
        raise ConfigurationError(
            f"{VISIBILITY_ENV}={text!r} must be a whole number of seconds > 0, "
            "longer than the slowest step, e.g. 300"
        )
    return value


def celery_worker_config() -> dict[str, Any]:
    """The `execution.config` block shared by the executor and the workers (one place)."""
    broker = _env(BROKER_ENV, DEFAULT_BROKER)
    if not broker.startswith(("redis://", "rediss://")):
        raise ConfigurationError(
            f"{BROKER_ENV}={broker!r} is not a Redis URL; set it like {DEFAULT_BROKER}"
        )
    backend = _env(BACKEND_ENV, broker)
    timeout = _visibility_timeout()
    return {
        "broker": broker,
        "backend": backend,
        "config_source": {
            # A step's task is acknowledged only when it finished: a worker killed mid-step
            # gives the task back instead of losing it (task_reject_on_worker_lost covers a
            # killed pool process, the visibility timeout a killed worker).
            "task_acks_late": True,
            "task_reject_on_worker_lost": True,
            "worker_prefetch_multiplier": 1,
            "broker_connection_retry_on_startup": True,
            "broker_transport_options": {
                "visibility_timeout": timeout,
                "unacked_restore_interval": 5,
                "unacked_restore_throttle": 1,
                "max_retries": 3,
                "interval_start": 0,
                "interval_step": 0.2,
                "interval_max": 0.5,
            },
            "result_backend_transport_options": {"visibility_timeout": timeout},
            "result_expires": 24 * 3600,
        },
    }


def executor_from_env() -> dg.ExecutorDefinition:
    """In-process by default; `TELEMETRY_EXECUTOR=celery` (or `multiprocess`) when asked."""
    kind = executor_kind()
    if kind == "in_process":
        return dg.in_process_executor
    if kind == "multiprocess":
        return dg.multiprocess_executor
    try:
        from dagster_celery import celery_executor
    except ImportError:
        raise ConfigurationError(
            f"{EXECUTOR_ENV}=celery needs dagster-celery; install the stack extra: "
            "pip install -e '.[stack]'"
        ) from None
    return celery_executor.configured(celery_worker_config(), name="celery")
