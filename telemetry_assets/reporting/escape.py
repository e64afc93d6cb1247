"""Every string that came from data is escaped before it reaches a page or a chart.

Plotly renders a small set of HTML tags inside labels (`<b>`, `<a href=...>`, `<br>`), so an
event or feature name must be entity-escaped before it becomes a label; Plotly shows the
entities as the literal characters. Quotes stay as they are: text content never becomes an
attribute here, and Plotly would show `&quot;` verbatim.
"""

from __future__ import annotations

import html

import polars as pl


def text(value: object) -> str:
    return html.escape("" if value is None else str(value), quote=False)


def column(series: pl.Series) -> list[str]:
    return [text(value) for value in series.to_list()]


def frame(data: pl.DataFrame, columns: list[str]) -> pl.DataFrame:
    """The frame with the given string columns escaped for display."""
    return data.with_columns(
        pl.Series(name, column(data.get_column(name)), dtype=pl.String) for name in columns
    )
