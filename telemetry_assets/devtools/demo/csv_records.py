"""Valid rows of the daily product-analytics CSV (format B), in the current and the older export.

Both exports must map to the same v1 records, so a row is built as cells by column name and
written in whichever column order and quoting its header uses.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Sequence
from typing import Any

from .model import Day, Line, Valid
from .records import FEATURES, envelope, exact_stamp, feature_latency, identity

CSV_HEADER = ("timestamp", "user_id", "feature_id", "latency_ms")
# The older export: an event column, a plan column and another column order, all quoted.
OLD_CSV_HEADER = ("event", "timestamp", "user_id", "plan", "feature_id", "latency_ms")
_PLANS = ("free", "pro", "enterprise, annual", 'team "beta"')


def csv_text(cells: Sequence[str], quote_all: bool) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(
        buffer, quoting=csv.QUOTE_ALL if quote_all else csv.QUOTE_MINIMAL, lineterminator="\n"
    )
    writer.writerow(cells)
    return buffer.getvalue()[:-1].encode()


def csv_row(ctx: Day, instant: dt.datetime, old_export: bool) -> dict[str, str]:
    """Cells by column name; an empty cell (anonymous user, no latency) means the key is absent."""
    rng = ctx.rng
    feature = rng.choice(FEATURES)
    latency = feature_latency(rng, feature)
    zones = ("",) if old_export else ("Z", "Z", "Z", "+01:00")
    row = {
        "timestamp": exact_stamp(rng, instant, zones),
        "user_id": "" if rng.random() < 0.03 else str(rng.choice(ctx.users)),
        "feature_id": feature,
        "latency_ms": "" if latency is None else str(latency),
    }
    if old_export:
        row["event"] = rng.choices(("feature_used", "feature_opened"), (9, 1))[0]
        row["plan"] = rng.choice(_PLANS)
    return row


def _csv_as_v1(row: dict[str, str]) -> dict[str, Any]:
    """Other columns stay strings; latency_ms becomes the number it spells."""
    payload: dict[str, Any] = {
        key: value for key, value in row.items() if value and key not in ("timestamp", "event")
    }
    if "latency_ms" in payload:
        payload["latency_ms"] = json.loads(payload["latency_ms"])
    return envelope("user", row.get("event", "feature_used"), row["timestamp"], payload)


def csv_line(ctx: Day, instant: dt.datetime, header: Sequence[str], old: bool) -> Line:
    row = csv_row(ctx, instant, old)
    text = csv_text([row[column] for column in header], quote_all=old)
    return Line(text, Valid(instant.date(), identity(_csv_as_v1(row))))
