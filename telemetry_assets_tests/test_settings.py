"""Bad configuration fails fast with a message that names the variable and what to set."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from telemetry_assets import settings
from telemetry_assets.defs.resources import IngestPolicy, Warehouse

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(
    ("parse", "value", "needle"),
    [
        (
            settings.parse_start_date,
            "2025-13-01",
            "TELEMETRY_START_DATE='2025-13-01' is not a date",
        ),
        (settings.parse_late_days, "-1", "TELEMETRY_LATE_DAYS='-1' must be a whole number"),
        (settings.parse_late_days, "two", "TELEMETRY_LATE_DAYS='two' must be a whole number"),
        (settings.parse_ratio, "5", "TELEMETRY_MAX_MALFORMED_RATIO='5' must be a fraction"),
    ],
)
def test_bad_values_are_rejected_with_a_fix(parse, value, needle):
    with pytest.raises(settings.ConfigurationError, match=needle):
        parse(value)


def test_resource_fields_are_validated_too():
    with pytest.raises(Exception, match="TELEMETRY_MAX_MALFORMED_RATIO"):
        IngestPolicy(max_malformed_ratio=3)


def test_unwritable_warehouse_is_a_clear_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(Exception, match=r"not writable.*TELEMETRY_WAREHOUSE_DIR"):
        Warehouse(warehouse_dir=str(blocker / "warehouse")).root()


def test_code_location_refuses_to_load_with_a_bad_start_date():
    env = {**os.environ, "TELEMETRY_START_DATE": "March 1st"}
    done = subprocess.run(
        [sys.executable, "-c", "import telemetry_assets.definitions"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode != 0
    assert "TELEMETRY_START_DATE='March 1st' is not a date; set it to YYYY-MM-DD" in done.stderr
