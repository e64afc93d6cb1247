"""Whether the Parquet files of a table keep its contract: columns, types, nulls and key.

pandera validates each file's columns, their types and order from the Parquet schema alone;
nulls in required columns and repeated keys are then counted by streaming queries, so a day of
ten million events is checked in bounded memory.
"""

from __future__ import annotations

import pandera.polars as pa
import polars as pl
from pandera.config import ValidationDepth, config_context

from telemetry_assets.dedup import repeated_values
from telemetry_assets.object_storage import StoragePath, uri
from telemetry_assets.schemas.tables import Table

EXAMPLES = 5


def repeated_keys(scan: pl.LazyFrame, key: list[str]) -> pl.DataFrame:
    """Key values that occur more than once, found without holding the table in memory:
    keys are hashed to 64 bits (`repeated_values` holds a bounded number of them at once), and
    only rows whose hash repeats are compared in full."""
    hashed = pl.struct(key).hash().alias("_key_hash")
    repeated = repeated_values(scan.select(hashed))
    if repeated.is_empty():
        return scan.select(key).head(0).collect()
    suspects = scan.with_columns(hashed).join(repeated.lazy(), on="_key_hash", how="semi")
    suspects_in_memory = suspects.select(key).collect(engine="streaming")
    return suspects_in_memory.filter(pl.struct(key).is_duplicated()).unique(maintain_order=True)


def distinct_schemas(files: list[StoragePath]) -> list[tuple[StoragePath, pl.Schema]]:
    """The first file of each distinct Parquet schema among `files`, with that schema.

    Only the footers are read; a range of many small files usually has one schema.
    """
    found: dict[tuple[tuple[str, pl.DataType], ...], tuple[StoragePath, pl.Schema]] = {}
    for file in files:
        schema = pl.Schema(pl.read_parquet_schema(uri(file)))
        found.setdefault(tuple(schema.items()), (file, schema))
    return list(found.values())


def table_problems(files: list[StoragePath], table: Table) -> list[dict[str, object]]:
    """How the Parquet files of a table break its contract (empty when they do not).

    The schema-only validation depends on a file's Parquet schema alone, so it runs once per
    distinct schema (on an empty frame of it), not once per file.
    """
    model = table.model()
    for file, schema in distinct_schemas(files):
        try:
            with config_context(validation_depth=ValidationDepth.SCHEMA_ONLY):
                model.validate(pl.LazyFrame(schema=schema), lazy=True)
        except pa.errors.SchemaErrors as errors:
            cases = errors.failure_cases.head(EXAMPLES).with_columns(file=pl.lit(file.name))
            return cases.to_dicts()
    scan = pl.scan_parquet([uri(f) for f in files]) if files else table.empty().lazy()
    required = [c for c in table.columns if c not in table.nullable]
    nulls = scan.select(pl.col(required).null_count()).collect(engine="streaming")
    problems: list[dict[str, object]] = [
        {"check": "not_nullable", "column": column, "null_rows": count}
        for column, count in nulls.row(0, named=True).items()
        if count
    ]
    repeated = repeated_keys(scan, list(table.key))
    if not repeated.is_empty():
        problems.append(
            {
                "check": "unique",
                "column": list(table.key),
                "repeated_keys": repeated.height,
                "examples": repeated.head(EXAMPLES).with_columns(pl.all().cast(pl.String)).rows(),
            }
        )
    return problems
