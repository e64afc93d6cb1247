"""An independent count of the records in a landing file, for the conservation check.

Written from the landing contract alone and sharing no code with the readers, so that a
reader that loses, doubles or invents records is caught by comparing the two counts: lines
split on `\\n` only, a blank line (empty, or spaces and tabs, before an optional final `\\r`)
is not a record, a BOM opening the file is not content, and in a CSV file the first
non-blank line is the header. Counting is done on whole buffers (numpy, and one regex where
a buffer may hold a blank line), so it reads gigabytes in seconds.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Iterator

import numpy as np

from telemetry_assets.object_storage import StoragePath

BOM = b"\xef\xbb\xbf"
_PIECE = 8 * 1024 * 1024
_BLANK_LINES = re.compile(rb"^[ \t]*\r?\n", re.MULTILINE)
# The bytes a blank line can start with (' ', '\t', '\r', '\n') are all <= 0x20.
_BLANK_START_MAX = 0x20
_NEWLINE = 0x0A
_BLANK_TAIL = re.compile(rb"[ \t]*\r?")


def _pieces(path: StoragePath, gzipped: bool) -> Iterator[bytes]:
    """The file's bytes, decompressed; a damaged gzip stream ends where the damage starts."""
    with path.open("rb") as handle:
        if not gzipped:
            while piece := handle.read(_PIECE):
                yield piece
            return
        inflater = zlib.decompressobj(wbits=31)
        while piece := handle.read(_PIECE):
            while piece:
                try:
                    yield inflater.decompress(piece)
                except zlib.error:
                    return
                if not inflater.eof:
                    break
                piece = inflater.unused_data
                inflater = zlib.decompressobj(wbits=31)


def _line_ends(complete: bytes) -> tuple[int, bool]:
    """The `\\n`s in a buffer of whole lines, and whether a blank line may be among them: one
    can only start the buffer or follow a `\\n`, with a byte <= 0x20. Usually none does, and
    `_BLANK_LINES`, which tries every byte, is not run at all."""
    data = np.frombuffer(complete, dtype=np.uint8)
    if not data.size:
        return 0, False
    ends = data == _NEWLINE
    may_be_blank = data[0] <= _BLANK_START_MAX or np.any(ends[:-1] & (data[1:] <= _BLANK_START_MAX))
    return int(np.count_nonzero(ends)), bool(may_be_blank)


def count_records(path: StoragePath, gzipped: bool, has_header: bool) -> int:
    """Records in the file: non-blank lines, less the header of a CSV file."""
    lines, blank, carry, started = 0, 0, b"", False
    for piece in _pieces(path, gzipped):
        data = carry + piece
        if not started and len(data) >= len(BOM):
            data, started = data.removeprefix(BOM), True
        cut = data.rfind(b"\n") + 1
        complete, carry = data[:cut], data[cut:]
        ends, may_be_blank = _line_ends(complete)
        lines += ends
        if may_be_blank:
            blank += len(_BLANK_LINES.findall(complete))
    if not started:
        carry = carry.removeprefix(BOM)
    if carry and not _BLANK_TAIL.fullmatch(carry):
        lines += 1
    records = lines - blank
    return records - 1 if has_header and records else records
