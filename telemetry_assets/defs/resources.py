"""Resources for every external thing: landing folder, warehouse, reports, policies.

Defaults come from the environment (see `settings`), so the CLI, the UI, tests and CI share
one set of switches; run config may still override any field.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

import dagster as dg
from pydantic import field_validator

from telemetry_assets import object_storage, settings, warehouse
from telemetry_assets.alerting import Threshold
from telemetry_assets.landing.files import LandingScan, scan_landing, scan_landing_page
from telemetry_assets.object_storage import StoragePath


def writable_folder(text: str, setting: settings.Setting) -> StoragePath:
    """The folder, created if needed, or a run failure naming the setting to fix."""
    root = object_storage.resolve(text)
    try:
        warehouse.check_writable(root, setting.env)
    except (PermissionError, settings.ConfigurationError) as error:
        raise dg.Failure(description=str(error)) from None
    return root


class LandingZone(dg.ConfigurableResource):
    """The folder (and its direct subfolders) where landing files arrive."""

    landing_dir: str

    @classmethod
    def from_env(cls) -> LandingZone:
        return cls(landing_dir=settings.env_value(settings.LANDING_DIR))

    def root(self) -> StoragePath:
        root = object_storage.resolve(self.landing_dir)
        if not root.is_dir():
            raise dg.Failure(
                description=(
                    f"landing folder {root} does not exist; create it or point "
                    f"{settings.LANDING_DIR.env} at the folder where files land"
                )
            )
        return root

    def scan(self) -> LandingScan:
        return scan_landing(self.root())

    def scan_page(self, after: str, limit: int) -> LandingScan:
        """At most `limit` keys of a bucket named after `after`; a folder is listed whole."""
        return scan_landing_page(self.root(), after, limit)


class Warehouse(dg.ConfigurableResource):
    """Root of the day-partitioned Parquet tables."""

    warehouse_dir: str

    @classmethod
    def from_env(cls) -> Warehouse:
        return cls(warehouse_dir=settings.env_value(settings.WAREHOUSE_DIR))

    def root(self) -> StoragePath:
        """The warehouse root, proven writable before any table is touched."""
        return writable_folder(self.warehouse_dir, settings.WAREHOUSE_DIR)


class IngestPolicy(dg.ConfigurableResource):
    """The tolerated share of malformed records per day.

    The lateness window is not here: it shapes the partition mappings, which are fixed when
    the code location loads, so it is read once from TELEMETRY_LATE_DAYS (`windows`).
    """

    max_malformed_ratio: float

    @classmethod
    def from_env(cls) -> IngestPolicy:
        return cls(
            max_malformed_ratio=settings.parse_ratio(
                settings.env_value(settings.MAX_MALFORMED_RATIO)
            ),
        )

    @field_validator("max_malformed_ratio")
    @classmethod
    def _ratio(cls, value: float) -> float:
        return settings.parse_ratio(value)


class AlertRule(dg.Config):
    metric: Literal["p95", "error_rate", "cpu", "memory", "throughput"]
    direction: Literal["above", "below"]
    warning: float
    critical: float
    unit: str = ""


class AlertPolicy(dg.ConfigurableResource):
    """Threshold rules turning service_health into alerts; configuration, not code."""

    rules: list[AlertRule]

    @classmethod
    def from_env(cls) -> AlertPolicy:
        path = Path(settings.env_value(settings.ALERT_RULES))
        try:
            rules = json.loads(path.read_text())
            return cls(rules=[AlertRule(**rule) for rule in rules])
        except (OSError, ValueError, TypeError) as error:
            raise settings.ConfigurationError(
                f"{settings.ALERT_RULES.env}={path} is not a readable JSON list of rules "
                f"(metric, direction, warning, critical): {error}"
            ) from None

    def thresholds(self) -> list[Threshold]:
        return [Threshold(r.metric, r.direction, r.warning, r.critical) for r in self.rules]


class ReportsStore(dg.ConfigurableResource):
    """Where HTML/PNG/text reports and the dashboard are written."""

    reports_dir: str

    @classmethod
    def from_env(cls) -> ReportsStore:
        return cls(reports_dir=settings.env_value(settings.REPORTS_DIR))

    def root(self) -> StoragePath:
        return writable_folder(self.reports_dir, settings.REPORTS_DIR)
