"""Frames as Markdown tables for the Dagster UI, with every value from data escaped."""

from __future__ import annotations

import polars as pl

from telemetry_assets.reporting import escape

CELL_CHARS = 120


def markdown_table(frame: pl.DataFrame) -> str:
    def cell(value: object) -> str:
        return escape.text(value).replace("|", "\\|").replace("\n", " ")[:CELL_CHARS]

    header = "| " + " | ".join(frame.columns) + " |"
    rule = "| " + " | ".join("---" for _ in frame.columns) + " |"
    rows = ["| " + " | ".join(cell(v) for v in row) + " |" for row in frame.iter_rows()]
    return "\n".join([header, rule, *rows])
