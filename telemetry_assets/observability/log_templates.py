"""Daily log patterns: a frame of one day's log records plus yesterday's miner state in, the
day's `log_patterns` rows plus today's state out. Pure Polars and Python, no Dagster, so the
asset, the benchmark and the tests share one code path.

The state is a plain frame (one row per live pattern) so the asset can keep it in the warehouse
beside the day's rows and reload the previous day's copy: ids then stay stable across days, and
re-running a day from the same state gives the same result.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

import polars as pl

from telemetry_assets.observability.log_masking import EMPTY_TEMPLATE, tokenize
from telemetry_assets.observability.log_miner import Pattern, TemplateMiner, Tokens

EXAMPLE_MAX_CHARS = 2000

TIMESTAMP = pl.Datetime("us", "UTC")
STATE_SCHEMA: dict[str, pl.DataType] = {
    "pattern_id": pl.String(),
    "template": pl.String(),
    "count": pl.Int64(),
    "first_seen": TIMESTAMP,
    "seq": pl.Int64(),
}
PATTERN_SCHEMA: dict[str, pl.DataType] = {
    "pattern_id": pl.String(),
    "template": pl.String(),
    "count": pl.Int64(),
    "services": pl.List(pl.String()),
    "levels": pl.List(pl.String()),
    "first_seen": TIMESTAMP,
    "example": pl.String(),
    "is_new": pl.Boolean(),
}
_RECORD_COLUMNS = ("timestamp", "service", "level", "message")
_KEY = "_tokens"
_SHAPE = "_shape"


def empty_state() -> pl.DataFrame:
    return pl.DataFrame(schema=STATE_SCHEMA)


def template_text(tokens: Tokens) -> str:
    """The empty message gets a visible name in reports; in the state it stays the empty
    string so that no real message can collide with it."""
    return " ".join(tokens) if tokens else EMPTY_TEMPLATE


def _tokens_from_state(template: str) -> Tokens:
    return tuple(template.split(" ")) if template else ()


def state_to_frame(miner: TemplateMiner) -> pl.DataFrame:
    rows = sorted(miner.patterns.values(), key=lambda pattern: pattern.seq)
    return pl.DataFrame(
        {
            "pattern_id": [p.pattern_id for p in rows],
            "template": [" ".join(p.tokens) for p in rows],
            "count": [p.count for p in rows],
            "first_seen": [p.first_seen for p in rows],
            "seq": [p.seq for p in rows],
        },
        schema=STATE_SCHEMA,
    )


def miner_from_state(state: pl.DataFrame | None) -> TemplateMiner:
    """Accepts the frame as read back from Parquet (any column order, compatible types)."""
    if state is None or state.is_empty():
        return TemplateMiner()
    state = state.select(pl.col(name).cast(dtype) for name, dtype in STATE_SCHEMA.items())
    return TemplateMiner(_pattern(row) for row in state.iter_rows(named=True))


def _pattern(row: dict[str, Any]) -> Pattern:
    return Pattern(
        pattern_id=row["pattern_id"],
        tokens=_tokens_from_state(row["template"] or ""),
        count=row["count"] or 0,
        first_seen=row["first_seen"],
        seq=row["seq"] or 0,
    )


def _utc(column: pl.Series) -> pl.Expr:
    """Log records may arrive with naive, zoned or text timestamps; all are compared in UTC."""
    expr = pl.col("timestamp")
    if column.dtype == pl.String:
        return expr.str.to_datetime(time_unit="us", time_zone="UTC", strict=False)
    if isinstance(column.dtype, pl.Datetime):
        if column.dtype.time_zone is None:
            return expr.dt.cast_time_unit("us").dt.replace_time_zone("UTC")
        return expr.dt.cast_time_unit("us").dt.convert_time_zone("UTC")
    return expr.cast(TIMESTAMP, strict=False)


def _normalised(records: pl.DataFrame) -> pl.DataFrame:
    """Missing optional columns become nulls, and rows are put in one canonical order so the
    result does not depend on how the day's files were read."""
    frame = records.with_columns(
        pl.lit(None, dtype=pl.String).alias(name)
        for name in _RECORD_COLUMNS
        if name not in records.columns
    )
    frame = frame.select(
        _utc(frame["timestamp"]).alias("timestamp"),
        pl.col("service").cast(pl.String),
        pl.col("level").cast(pl.String),
        pl.col("message").cast(pl.String).fill_null(""),
    )
    return frame.sort(list(_RECORD_COLUMNS), nulls_last=True, maintain_order=True)


def _with_keys(frame: pl.DataFrame) -> tuple[pl.DataFrame, dict[str, Tokens]]:
    """Tokenises each distinct message shape once. Masking treats every digit alike, so
    messages that differ only in their digits share a shape and its tokens: a day of a
    million records usually has a few thousand shapes, and Python touches only those."""
    frame = frame.with_columns(pl.col("message").str.replace_all(r"\d", "0").alias(_SHAPE))
    shapes = frame[_SHAPE].unique(maintain_order=True).to_list()
    tokens = [tokenize(shape) for shape in shapes]
    keys = {" ".join(token_list): token_list for token_list in tokens}
    lookup = pl.DataFrame(
        {_SHAPE: shapes, _KEY: [" ".join(t) for t in tokens]},
        schema={_SHAPE: pl.String(), _KEY: pl.String()},
    )
    return frame.join(lookup, on=_SHAPE, how="left", maintain_order="left"), keys


def _per_key(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.group_by(_KEY, maintain_order=True).agg(
        pl.len().cast(pl.Int64).alias("count"),
        pl.col("timestamp").min().alias("first_seen"),
        pl.col("service").drop_nulls().unique().alias("services"),
        pl.col("level").drop_nulls().unique().alias("levels"),
        pl.col("message").first().str.slice(0, EXAMPLE_MAX_CHARS).alias("example"),
    )


def mine_log_patterns(
    records: pl.DataFrame, state: pl.DataFrame | None = None
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """One day of log records (timestamp, service, level, message) against the previous day's
    state. Returns the day's rows (one per pattern seen that day, in the `log_patterns`
    layout without the date) and the state to keep for the next day."""
    miner = miner_from_state(state)
    known = set(miner.patterns)
    frame, keys = _with_keys(_normalised(records))
    per_key = _per_key(frame)
    batch = [
        (keys[row[_KEY]], row["count"], row["first_seen"])
        for row in per_key.select(_KEY, "count", "first_seen").iter_rows(named=True)
    ]
    assigned = miner.mine(batch)
    ids = pl.DataFrame(
        {_KEY: list(keys), "pattern_id": [assigned[t] for t in keys.values()]},
        schema={_KEY: pl.String(), "pattern_id": pl.String()},
    )
    rows = _per_pattern(per_key.join(ids, on=_KEY, maintain_order="left"), miner, known)
    return rows, state_to_frame(miner)


def _per_pattern(per_key: pl.DataFrame, miner: TemplateMiner, known: set[str]) -> pl.DataFrame:
    day = per_key.group_by("pattern_id", maintain_order=True).agg(
        pl.col("count").sum(),
        pl.col("services").list.explode(keep_nulls=False, empty_as_null=False).unique().sort(),
        pl.col("levels").list.explode(keep_nulls=False, empty_as_null=False).unique().sort(),
        pl.col("example").first(),
    )
    patterns = [miner.patterns[pattern_id] for pattern_id in day["pattern_id"]]
    day = day.with_columns(
        pl.Series("template", [template_text(p.tokens) for p in patterns], pl.String()),
        pl.Series("first_seen", [p.first_seen for p in patterns], TIMESTAMP),
        pl.Series("is_new", [p.pattern_id not in known for p in patterns], pl.Boolean()),
    )
    return day.select(pl.col(name).cast(dtype) for name, dtype in PATTERN_SCHEMA.items()).sort(
        ["count", "pattern_id"], descending=[True, False]
    )


def mine_messages(
    messages: Sequence[str | None], state: pl.DataFrame | None = None
) -> tuple[list[str], dict[str, str], pl.DataFrame]:
    """The same miner for callers that need the pattern of every single message (benchmarks,
    ad-hoc analysis) rather than per-pattern day rows; messages are taken in the given order.
    Returns the pattern id per message, the template per pattern id and the new state."""
    miner = miner_from_state(state)
    tokens = [tokenize(message) for message in messages]
    counts = Counter(tokens)
    assigned = miner.mine([(t, counts[t], None) for t in dict.fromkeys(tokens)])
    ids = [assigned[t] for t in tokens]
    templates = {pid: template_text(miner.patterns[pid].tokens) for pid in dict.fromkeys(ids)}
    return ids, templates, state_to_frame(miner)
