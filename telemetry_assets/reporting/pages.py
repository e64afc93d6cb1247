"""Self-contained HTML pages: plotly.js inlined once, so a page opens offline with no request."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import plotly.io as pio
import plotly.offline
import polars as pl

from telemetry_assets.reporting import escape
from telemetry_assets.reporting.figures import Figure

STYLE = """
body { font-family: system-ui, sans-serif; margin: 24px; color: #222; background: #fafafa; }
h1 { margin-bottom: 4px; } .sub { color: #666; margin-top: 0; }
.cards { display: flex; flex-wrap: wrap; gap: 12px; margin: 16px 0; }
.card { background: #fff; border: 1px solid #ddd; border-radius: 8px; padding: 12px 16px;
        min-width: 150px; }
.card .value { font-size: 1.6em; font-weight: 600; } .card .label { color: #666; }
.chart { background: #fff; border: 1px solid #ddd; border-radius: 8px; margin: 12px 0; }
table { border-collapse: collapse; background: #fff; margin: 8px 0; }
th, td { border: 1px solid #ddd; padding: 4px 8px; text-align: left; }
.note { color: #8a4b00; }
"""


@dataclass(frozen=True)
class Card:
    label: str
    value: str


@cache
def _plotly_js() -> str:
    return plotly.offline.get_plotlyjs()


def cards(items: list[Card]) -> str:
    inner = "".join(
        f'<div class="card"><div class="value">{escape.text(c.value)}</div>'
        f'<div class="label">{escape.text(c.label)}</div></div>'
        for c in items
    )
    return f'<div class="cards">{inner}</div>'


def chart(fig: Figure) -> str:
    body = pio.to_html(
        fig,
        full_html=False,
        include_plotlyjs=False,
        config={"displaylogo": False},
        validate=False,
    )
    return f'<div class="chart">{body}</div>'


def table(frame: pl.DataFrame, empty: str = "none") -> str:
    if frame.is_empty():
        return f"<p>{escape.text(empty)}</p>"
    head = "".join(f"<th>{escape.text(c)}</th>" for c in frame.columns)
    rows = "".join(
        "<tr>" + "".join(f"<td>{escape.text(v)}</td>" for v in row) + "</tr>"
        for row in frame.iter_rows()
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"


def section(title: str, *parts: str) -> str:
    return f"<h2>{escape.text(title)}</h2>" + "".join(parts)


def note(message: str) -> str:
    return f'<p class="note">{escape.text(message)}</p>'


def page(title: str, subtitle: str, body: list[str]) -> str:
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{escape.text(title)}</title><style>{STYLE}</style>"
        f"<script type='text/javascript'>{_plotly_js()}</script></head><body>"
        f"<h1>{escape.text(title)}</h1><p class='sub'>{escape.text(subtitle)}</p>"
        + "".join(body)
        + "</body></html>"
    )
