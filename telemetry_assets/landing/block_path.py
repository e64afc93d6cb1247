"""What every block path shares: a block of JSON Lines decoded whole by msgspec, exactly.

A format's block path gives exactly the candidate rows of its exact path, only faster, and
sends every case it cannot vouch for to the exact path:

- The block is taken whole only when each physical line is one record as it stands
  (`Block.json_lines`), and then only when every line starts with `{` and ends with `}`
  (`one_object_per_line`). msgspec reads a buffer as a stream of values, not of lines, so that
  shape is what proves one value per line: a value cannot continue past a line end, because
  `}` followed by `{` never occurs inside one JSON value and a string cannot hold a raw
  newline; so each line holds at least one value, and as many values as lines means exactly
  one each.
- When a whole block is not regular, its records are tried in groups of REGULAR_GROUP lines;
  a group that is not regular either is decoded by the exact path.
- Several blocks (the few hundred records of each of many small files) are joined into one
  buffer and decoded at once (`decode_blocks_path`): the block path's fixed costs (msgspec,
  Polars frames, the hash) are then paid once per batch instead of once per file.
- msgspec writes numbers like `canonical_json` except a float with a positive exponent
  (`1e16` against `1e+16`), and a run of 19+ digits may be an integer beyond 64 bits:
  `NOT_CANONICAL_NUMBER` finds both in canonical text, and such rows are redone exactly.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import msgspec
import numpy as np
import polars as pl
import polars_hash as plh

from telemetry_assets.landing.lines import Block, FileLines

DECODE_CHUNK = 65_536  # records decoded at once on the exact path: bounds live Python objects
REGULAR_GROUP = 4_096  # lines tried together once a whole block was not regular
# Numbers msgspec writes or reads unlike `canonical_json`: positive exponents, long integers.
NOT_CANONICAL_NUMBER = r"[:,\[]-?(?:\d+(?:\.\d+)?e\d+|\d{19,})[,}\]]"
# What msgspec raises on a buffer that is not all regular records (ValidationError included).
NOT_REGULAR = (msgspec.DecodeError, UnicodeDecodeError, RecursionError)
SORTED_ENCODER = msgspec.json.Encoder(order="sorted")
# The event id of each canonical record in a String column `record`, over the whole column
# (polars-hash: the same digest as `hashlib.sha256(record).hexdigest()`).
EVENT_ID = plh.col("record").chash.sha2_256().alias("event_id")
_NOT_CANONICAL = re.compile(NOT_CANONICAL_NUMBER.encode()).search
_DIGITS_AS_ZERO = bytes.maketrans(b"123456789", b"000000000")

# Candidate rows of a buffer whose lines are all regular records (None when they are not),
# given the lines' numbers; and the exact path of the same format.
RegularFrame = Callable[[bytes, pl.Series], pl.DataFrame | None]
ExactDecoder = Callable[[FileLines], pl.DataFrame]


NEWLINE, _OPEN, _CLOSE = b"\n"[0], b"{"[0], b"}"[0]


def line_ends(buffer: bytes) -> np.ndarray | None:
    """Where each line of the buffer ends (its `\\n`, or the buffer's end for an unterminated
    last line) when every line starts with `{` and ends with `}`; None when one does not.

    With as many values as lines, that shape proves one value per line (module docstring).
    """
    body = np.frombuffer(buffer, dtype=np.uint8)
    if buffer.endswith(b"\n"):
        body = body[:-1]
    if not body.size or body[0] != _OPEN or body[-1] != _CLOSE:
        return None
    ends = np.flatnonzero(body == NEWLINE)
    if not (np.all(body[ends - 1] == _CLOSE) and np.all(body[ends + 1] == _OPEN)):
        return None
    return np.append(ends, body.size)


def one_object_per_line(buffer: bytes) -> bool:
    """Every line of the buffer starts with `{` and ends with `}` (see `line_ends`)."""
    return line_ends(buffer) is not None


def non_canonical_numbers(lines: bytes) -> list[int]:
    """Positions of the lines (an `encode_lines` output) that may hold a number msgspec writes
    unlike `canonical_json`. A match of NOT_CANONICAL_NUMBER needs a digit, `e`, a digit or a
    run of 19 digits: with digits read as `0`, two byte searches rule out almost every block
    before a regular expression (slow in Python) looks at a single line."""
    digits = lines.translate(_DIGITS_AS_ZERO)
    if b"0e0" not in digits and b"0" * 19 not in digits:
        return []
    return [row for row, line in enumerate(lines.split(b"\n")) if _NOT_CANONICAL(line)]


def decode_block_path(block: Block, regular: RegularFrame, exact: ExactDecoder) -> pl.DataFrame:
    """Candidate rows of a block: the whole block as regular records when it is one,
    otherwise groups of lines, and the exact path for the groups that are not regular."""
    buffer = block.json_lines()
    if buffer:
        numbers = pl.int_range(block.first_line, block.first_line + block.line_count, eager=True)
        frame = regular(buffer, numbers)
        if frame is not None:
            return frame
    frames: list[pl.DataFrame] = []
    for chunk in block.records.chunks(DECODE_CHUNK):
        for group in chunk.chunks(REGULAR_GROUP):
            buffer = b"\n".join(group.lines)
            frame = None if b"\r" in buffer else regular(buffer, pl.Series(group.numbers))
            frames.append(exact(group) if frame is None else frame)
    return pl.concat(frames)


def decode_blocks_path(
    blocks: list[Block], regular: RegularFrame, exact: ExactDecoder
) -> list[pl.DataFrame]:
    """`decode_block_path` of each block, with runs of blocks that are JSON Lines buffers
    decoded as one joined buffer and split back by block.

    The rows are the same either way: the block path maps each line on its own, and a joined
    buffer that is not regular is halved until each half is (or is a single block, which then
    takes `decode_block_path` exactly as it would alone).
    """
    frames: list[pl.DataFrame] = []
    run: list[Block] = []
    for block in blocks:
        if block.json_lines():
            run.append(block)
            continue
        frames.extend(_joined(run, regular, exact))
        run = []
        frames.append(decode_block_path(block, regular, exact))
    frames.extend(_joined(run, regular, exact))
    return frames


def _joined(blocks: list[Block], regular: RegularFrame, exact: ExactDecoder) -> list[pl.DataFrame]:
    """Candidate rows of each of `blocks` (all JSON Lines buffers) from one joined buffer."""
    if len(blocks) <= 1:
        return [decode_block_path(block, regular, exact) for block in blocks]
    # Only a file's last block may lack its final newline; joined, each block ends its lines.
    joined = b"".join(b.data if b.data.endswith(b"\n") else b.data + b"\n" for b in blocks)
    numbers = pl.concat(
        [pl.int_range(b.first_line, b.first_line + b.line_count, eager=True) for b in blocks]
    )
    frame = regular(joined, numbers)
    if frame is None:
        half = len(blocks) // 2
        return _joined(blocks[:half], regular, exact) + _joined(blocks[half:], regular, exact)
    frames, start = [], 0
    for block in blocks:
        frames.append(frame.slice(start, block.line_count))
        start += block.line_count
    return frames


def redo_exactly(frame: pl.DataFrame, rows: pl.Series, exact: ExactDecoder) -> pl.DataFrame:
    """The block path's candidate rows with `rows` (positions) decoded again by the exact path.

    The redone rows go back to their positions (not ordered by line number: a joined buffer
    holds the lines of several files)."""
    if rows.is_empty():
        return frame
    redone = exact(
        FileLines(
            frame.get_column("source_line").gather(rows).to_list(),
            frame.get_column("raw").gather(rows).to_list(),
        )
    ).with_columns(_position=rows.cast(pl.UInt32))
    rest = frame.with_columns(_position=pl.int_range(pl.len(), dtype=pl.UInt32)).filter(
        ~pl.col("_position").is_in(rows.cast(pl.UInt32).implode())
    )
    return pl.concat([rest, redone]).sort("_position").drop("_position")
