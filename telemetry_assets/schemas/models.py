"""pandera.polars models: the envelope every record must pass, and one model per schema_version.

Each model is a `DataFrameSchema` whose dataframe-level checks are the contract's rules, named
by reason code. A new `schema_version` gets its own rules in `VERSION_RULES`; until it has
one, its records fail the envelope's `unknown_schema_version` rule.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from functools import cache

import pandera.polars as pa
import polars as pl

from telemetry_assets.schemas import rules
from telemetry_assets.schemas.candidates import CANDIDATE_SCHEMA
from telemetry_assets.schemas.rules import Rule
from telemetry_assets.schemas.versions import V1

_DERIVED_DTYPES = {"ts_us": pl.Int64, "event_day": pl.Date, "file_day": pl.Date}


def _check(rule: Rule) -> pa.Check:
    expr = rule.passes.alias(rule.reason.value)
    return pa.Check(
        lambda data: data.lazyframe.select(expr),
        name=rule.reason.value,
        error=rule.reason.value,
    )


def _schema(name: str, rule_list: Sequence[Rule]) -> pa.DataFrameSchema:
    dtypes: dict[str, pl.DataType | type[pl.DataType]] = {**CANDIDATE_SCHEMA, **_DERIVED_DTYPES}
    return pa.DataFrameSchema(
        {column: pa.Column(dtypes[column], nullable=True) for column in rules.RULE_INPUT_COLUMNS},
        checks=[_check(rule) for rule in rule_list],
        name=name,
    )


@cache
def envelope_rules() -> tuple[Rule, ...]:
    return (
        rules.INVALID_JSON,
        rules.TRUNCATED_LINE,
        rules.MISSING_FIELD,
        rules.WRONG_TYPE,
        rules.unknown_schema_version(tuple(VERSION_RULES)),
        rules.BAD_COLUMN_COUNT,
    )


@cache
def envelope_model() -> pa.DataFrameSchema:
    return _schema("envelope", envelope_rules())


def v1_rules(late_days: int, start_date: dt.date) -> tuple[Rule, ...]:
    return (
        rules.EMPTY_EVENT,
        rules.INVALID_TIMESTAMP,
        rules.FUTURE_TIMESTAMP,
        rules.too_late(late_days),
        rules.before_start_date(start_date),
        rules.NEGATIVE_LATENCY,
        rules.INVALID_LATENCY,
    )


VERSION_RULES: dict[str, Callable[[int, dt.date], tuple[Rule, ...]]] = {V1: v1_rules}


@cache
def version_model(version: str, late_days: int, start_date: dt.date) -> pa.DataFrameSchema:
    return _schema(version, VERSION_RULES[version](late_days, start_date))
