"""The validation gate: pandera decides validity, the first failing rule names the reason.

Every record is validated by the envelope model; records that pass it are validated by the
model of their `schema_version`. pandera's failure cases (check name + row index) are mapped
back to rows, and each failing row keeps the earliest reason in contract order.
"""

from __future__ import annotations

import datetime as dt

import pandera.polars as pa
import polars as pl
from pandera.config import ValidationDepth, config_context, get_config_context

from telemetry_assets.schemas import models, timestamps
from telemetry_assets.schemas.reasons import REASON_RANK
from telemetry_assets.schemas.rules import RULE_INPUT_COLUMNS, Rule
from telemetry_assets.windows import LATE_DAYS, START_DATE

ROW = "_row"


class ValidationDisabledError(RuntimeError):
    """pandera was told not to validate: the gate would pass every record."""


def require_validation() -> None:
    """Refuse to run a gate that pandera's configuration has switched off."""
    if not get_config_context().validation_enabled:
        raise ValidationDisabledError(
            "pandera validation is disabled (PANDERA_VALIDATION_ENABLED is false), so the "
            "validation gate would accept every record; unset PANDERA_VALIDATION_ENABLED "
            "(or set it to True) and run again"
        )


def derive(candidates: pl.DataFrame) -> pl.DataFrame:
    """Add what the rules read besides the record itself: UTC time and event day."""
    with_us = timestamps.with_utc_microseconds(candidates, "timestamp", "ts_us")
    return with_us.with_columns(event_day=timestamps.utc_day(pl.col("ts_us")))


def _failures(schema: pa.DataFrameSchema, frame: pl.DataFrame) -> pl.DataFrame:
    """(row, reason) for every row that fails a check of the schema."""
    empty = pl.DataFrame(schema={ROW: pl.UInt32, "reason": pl.String})
    if frame.is_empty():
        return empty
    with config_context(validation_depth=ValidationDepth.SCHEMA_AND_DATA):
        try:
            schema.validate(frame.select(RULE_INPUT_COLUMNS), lazy=True)
        except pa.errors.SchemaErrors as errors:
            cases = errors.failure_cases
        else:
            return empty
    structural = cases.filter(pl.col("index").is_null())
    if not structural.is_empty():
        raise TypeError(f"gate frame does not match model {schema.name}: {structural}")
    return pl.DataFrame(
        {
            ROW: frame.get_column(ROW).gather(cases.get_column("index")),
            "reason": cases.get_column("check"),
        }
    )


def _detail(rule_list: tuple[Rule, ...]) -> pl.Expr:
    detail = pl.lit(None, dtype=pl.String)
    for rule in rule_list:
        detail = pl.when(pl.col("reason") == rule.reason.value).then(rule.detail).otherwise(detail)
    return detail


def apply_gate(
    candidates: pl.DataFrame, late_days: int = LATE_DAYS, start_date: dt.date = START_DATE
) -> pl.DataFrame:
    """The candidates (with their `file_day` column) plus `ts_us`, `event_day`, `reason`, `detail`.

    `reason` is null exactly for valid records. Candidates of many files may be gated at once:
    pandera's fixed cost per validation is then paid once per batch, not once per file.
    """
    require_validation()
    frame = derive(candidates).with_row_index(ROW)
    failures = [_failures(models.envelope_model(), frame)]
    passed = frame.join(failures[0], on=ROW, how="anti")
    all_rules = models.envelope_rules()
    for version in models.VERSION_RULES:
        subset = passed.filter(pl.col("schema_version") == version)
        failures.append(_failures(models.version_model(version, late_days, start_date), subset))
        all_rules += models.VERSION_RULES[version](late_days, start_date)
    first = (
        pl.concat(failures)
        .with_columns(rank=pl.col("reason").replace_strict(REASON_RANK, return_dtype=pl.Int32))
        .sort("rank")
        .group_by(ROW)
        .agg(pl.col("reason").first())
    )
    # Details are text built per rule: compute them for the rejected rows only.
    rejected = frame.join(first, on=ROW, how="inner").select(ROW, detail=_detail(all_rules))
    return (
        frame.join(first, on=ROW, how="left").join(rejected, on=ROW, how="left").sort(ROW).drop(ROW)
    )
