"""The table-contract check finds each kind of breach in real Parquet files."""

import datetime as dt

import polars as pl
import pytest

from telemetry_assets import dedup
from telemetry_assets.schemas.tables import EVENT_COUNTS, EVENTS
from telemetry_assets.table_checks import table_problems

DAY = dt.date(2025, 3, 1)


def counts(**overrides) -> pl.DataFrame:
    frame = pl.DataFrame(
        {"date": [DAY, DAY], "channel": ["user", "trace"], "event": ["a", "b"], "events": [3, 4]}
    )
    return EVENT_COUNTS.conform(frame).with_columns(**overrides)


def write(tmp_path, *frames: pl.DataFrame) -> list:
    paths = []
    for number, frame in enumerate(frames):
        paths.append(tmp_path / f"part-{number}.parquet")
        frame.write_parquet(paths[-1])
    return paths


def test_a_table_that_keeps_its_contract_has_no_problems(tmp_path):
    assert table_problems(write(tmp_path, counts()), EVENT_COUNTS) == []
    assert table_problems([], EVENTS) == []


def test_a_wrong_type_is_reported_by_pandera(tmp_path):
    problems = table_problems(
        write(tmp_path, counts(events=pl.col("events").cast(pl.String))), EVENT_COUNTS
    )
    assert [(p["check"], p["column"], p["file"]) for p in problems] == [
        ("dtype('Int64')", "events", "part-0.parquet")
    ]


def test_nulls_in_a_required_column_are_counted(tmp_path):
    broken = counts(channel=pl.lit(None, dtype=pl.String))
    assert table_problems(write(tmp_path, broken), EVENT_COUNTS) == [
        {"check": "not_nullable", "column": "channel", "null_rows": 2}
    ]


def test_a_key_repeated_across_files_is_found(tmp_path):
    problems = table_problems(
        write(tmp_path, counts(), counts(events=pl.lit(9, dtype=pl.Int64))), EVENT_COUNTS
    )
    assert problems == [
        {
            "check": "unique",
            "column": ["date", "channel", "event"],
            "repeated_keys": 2,
            "examples": [("2025-03-01", "user", "a"), ("2025-03-01", "trace", "b")],
        }
    ]


@pytest.mark.parametrize("bucket_rows", [1, 2, 16_000_000])
def test_a_key_written_three_times_is_one_repeated_key(tmp_path, monkeypatch, bucket_rows):
    monkeypatch.setattr(dedup, "BUCKET_ROWS", bucket_rows)
    once = counts().head(1)
    problems = table_problems(write(tmp_path, counts(), once, once), EVENT_COUNTS)
    assert [(p["repeated_keys"], p["examples"]) for p in problems] == [
        (1, [("2025-03-01", "user", "a")])
    ]
