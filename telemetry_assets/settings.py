"""Environment-driven settings, read once and validated so bad configuration fails fast.

Every switch a user may change lives here with its environment variable and default; the
resources and partition definitions take their defaults from this one place, so the CLI, the
web UI, tests and CI all obey the same variables.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path


class ConfigurationError(ValueError):
    """A setting has a value the pipeline cannot run with; the message says what to fix."""


@dataclass(frozen=True)
class Setting:
    env: str
    default: str
    meaning: str


LANDING_DIR = Setting("TELEMETRY_LANDING_DIR", "data/landing", "where landing files arrive")
WAREHOUSE_DIR = Setting("TELEMETRY_WAREHOUSE_DIR", "data/warehouse", "root of the Parquet tables")
REPORTS_DIR = Setting("TELEMETRY_REPORTS_DIR", "data/reports", "reports and the dashboard")
START_DATE = Setting("TELEMETRY_START_DATE", "2025-01-01", "first day partition (YYYY-MM-DD)")
LATE_DAYS = Setting(
    "TELEMETRY_LATE_DAYS", "2", "how many days after its event day a record may still land"
)
MAX_MALFORMED_RATIO = Setting(
    "TELEMETRY_MAX_MALFORMED_RATIO",
    "0.01",
    "largest share of quarantined records per day before the malformed check fails",
)

ALERT_RULES = Setting(
    "TELEMETRY_ALERT_RULES",
    str(Path(__file__).with_name("alert_rules.json")),
    "JSON file of alert thresholds for service_health",
)

# Retention (see `telemetry_assets.retention`): days to keep per table family, 0 = forever.
RETAIN_RAW_DAYS = Setting(
    "TELEMETRY_RETAIN_RAW_DAYS", "0", "days of raw_events and quarantine to keep (0 = forever)"
)
RETAIN_EVENTS_DAYS = Setting(
    "TELEMETRY_RETAIN_EVENTS_DAYS", "0", "days of events to keep (0 = forever)"
)
RETAIN_AGGREGATE_DAYS = Setting(
    "TELEMETRY_RETAIN_AGGREGATE_DAYS",
    "0",
    "days of ingest_stats, metric and observability tables to keep (0 = forever)",
)


def env_value(setting: Setting) -> str:
    value = os.environ.get(setting.env, "").strip()
    return value or setting.default


def parse_start_date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise ConfigurationError(
            f"{START_DATE.env}={text!r} is not a date; set it to YYYY-MM-DD, e.g. 2025-01-01"
        ) from None


def parse_late_days(text: str | int) -> int:
    return parse_whole_days(text, LATE_DAYS, ", e.g. 2")


def parse_ratio(text: str | float) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0.0 <= value <= 1.0:
        raise ConfigurationError(
            f"{MAX_MALFORMED_RATIO.env}={text!r} must be a fraction between 0 and 1, e.g. 0.01"
        )
    return value


def parse_retain_days(text: str | int, setting: Setting) -> int:
    """Whole days to keep, 0 meaning forever; anything else names the variable to fix."""
    return parse_whole_days(text, setting, " (0 keeps forever), e.g. 7")


def parse_whole_days(text: str | int, setting: Setting, hint: str) -> int:
    """A whole number of days >= 0, or an error naming the variable and what it takes."""
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise ConfigurationError(
            f"{setting.env}={text!r} must be a whole number of days >= 0{hint}"
        )
    return value


def start_date() -> dt.date:
    return parse_start_date(env_value(START_DATE))


def late_days() -> int:
    return parse_late_days(env_value(LATE_DAYS))
