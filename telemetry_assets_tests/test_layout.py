"""The shape of the code location: every table checked, tooling outside, public Dagster only."""

import re
import subprocess
import sys
from pathlib import Path

from telemetry_assets.definitions import ASSETS, CHECKS, defs
from telemetry_assets.defs.reports.assets import report_assets
from telemetry_assets.defs.schema_checks import table_of

PACKAGE = Path(__file__).parents[1] / "telemetry_assets"


def test_every_table_writing_asset_has_a_schema_check():
    check_names = {key.name for check in CHECKS for key in check.check_keys}
    for asset in ASSETS:
        if asset in report_assets:
            continue
        table = table_of(asset)
        assert table is not None, f"{asset.key} writes no table of the registry"
        assert f"{table.name}_schema" in check_names
        schema = asset.metadata_by_key[asset.key]["dagster/column_schema"]
        assert [c.name for c in schema.columns] == table.columns


def test_the_code_location_imports_no_tooling():
    loaded = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, telemetry_assets.definitions; "
            "print(sorted(m for m in sys.modules if m.startswith('telemetry_assets.devtools')))",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert loaded.stdout.strip() == "[]"


def test_only_public_dagster_api_is_imported():
    private = re.compile(r"^\s*(from|import)\s+dagster\._", re.MULTILINE)
    offenders = [p for p in PACKAGE.rglob("*.py") if private.search(p.read_text())]
    assert offenders == []


def test_definitions_load_with_a_sensor_and_a_schedule():
    assert defs.sensors and defs.schedules
