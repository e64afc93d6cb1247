"""Format B: daily product-analytics CSV exports, rows matched to the header by column name.

Channel `user`, event `feature_used` (or the row's `event` column in older exports), payload
`{user_id, feature_id, latency_ms}` plus any other column as a string; an empty cell means the
key is absent. The header (the first non-blank line) is not a record.
"""

from __future__ import annotations

import csv
import re
from typing import Any

import polars as pl

from telemetry_assets.landing.candidate_rows import ENVELOPE_TYPES, CandidateRows, RecordError
from telemetry_assets.landing.files import FileFormat
from telemetry_assets.landing.lines import FileLines
from telemetry_assets.schemas.candidates import JsonType
from telemetry_assets.schemas.reasons import Reason
from telemetry_assets.schemas.versions import V1

DEFAULT_EVENT = "feature_used"
TYPE_DEFAULTS = ENVELOPE_TYPES
_DECIMAL = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)")

# Lines may exceed 1 MiB, so one cell may too; the csv module's default cap (128 KiB) would
# turn a long but well-formed row into a parse failure. The whole line is in memory already.
csv.field_size_limit(2**31 - 1)


def csv_cells(text: str, strict: bool = True) -> list[str]:
    """The cells of one CSV line, where a carriage return is an ordinary character.

    Lines split on `\\n` only, but the csv module ends a row at a bare `\\r`, and raises when
    one sits in an unquoted cell; a stand-in character absent from the line carries it through.
    """
    if "\r" not in text:
        return next(csv.reader([text], strict=strict), [])
    stand_in = next(chr(c) for c in range(0xE000, 0x110000) if chr(c) not in text)
    cells = csv_cells(text.replace("\r", stand_in), strict)
    return [cell.replace(stand_in, "\r") for cell in cells]


def _number(cell: str) -> int | float | None:
    if not _DECIMAL.fullmatch(cell):
        return None
    return float(cell) if "." in cell else int(cell)


def decode_product_analytics(lines: FileLines) -> pl.DataFrame:
    """Candidate rows of CSV records (the header is `lines.header`, not a record)."""
    rows = CandidateRows(FileFormat.PRODUCT_ANALYTICS, lines, TYPE_DEFAULTS)
    # The header is not a record, so it cannot be quarantined: read it leniently, and let a
    # garbled header show up as rows that fail (no `timestamp` column, or wrong field counts).
    header_text = (lines.header or b"").decode("utf-8", "replace")
    header = [name.strip() for name in csv_cells(header_text, strict=False)]
    last = lines.unterminated_line
    for number, line in zip(lines.numbers, lines.lines, strict=True):
        truncated = number == last
        try:
            cells = csv_cells(line.decode("utf-8"))
        except UnicodeDecodeError as error:
            rows.failed(Reason.TRUNCATED_LINE if truncated else Reason.INVALID_JSON, str(error))
            continue
        except csv.Error as error:
            reason = Reason.TRUNCATED_LINE if truncated else Reason.BAD_COLUMN_COUNT
            rows.failed(reason, f"malformed CSV quoting: {error}")
            continue
        if len(cells) != len(header):
            reason = Reason.TRUNCATED_LINE if truncated else Reason.BAD_COLUMN_COUNT
            rows.failed(reason, f"{len(cells)} fields, the header has {len(header)}")
            continue
        try:
            _map_row(rows, dict(zip(header, cells, strict=True)))
        except Exception as error:
            raise RecordError(number, error) from error
    return rows.frame()


def _map_row(rows: CandidateRows, record: dict[str, str]) -> None:
    timestamp = record.get("timestamp", "")
    payload: dict[str, Any] = {}
    for column, cell in record.items():
        if column in ("timestamp", "event") or cell == "":
            continue
        if column == "latency_ms":
            number = _number(cell)
            payload[column] = cell if number is None else number
        else:
            payload[column] = cell
    mapped = {
        "schema_version": V1,
        "channel": "user",
        "event": record.get("event") or DEFAULT_EVENT,
        "timestamp": timestamp or None,
        "payload": payload,
    }
    types = {} if timestamp else {"timestamp_type": JsonType.ABSENT.value}
    rows.mapped(mapped, {**TYPE_DEFAULTS, **types})
