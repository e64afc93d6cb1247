"""Physical lines of a landing file, exactly as the landing contract numbers them.

Lines split on `\\n` only (never `str.splitlines()`, which also breaks on U+2028, U+2029 and
U+0085 inside JSON strings); one trailing `\\r` is dropped; a UTF-8 BOM at file start is
dropped; blank lines are skipped but still count for numbering. Bytes stay bytes here so a
line that is not UTF-8 reaches the decoder and becomes an `invalid_json` record.

A file is read in blocks of whole lines (`LineBlocks`), so memory depends on the block size,
never on the size of the file.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property
from typing import BinaryIO

from telemetry_assets.object_storage import StoragePath

BOM = b"\xef\xbb\xbf"
# A block's records are all in memory as Python objects at once while it is decoded.
BLOCK_BYTES = 4 * 1024 * 1024
_BLANK = b" \t"
# A line that is empty or starts with a blank: such a block (or one holding a `\r`) is numbered
# line by line instead of being taken as one JSON Lines buffer.
_BLANK_START = re.compile(rb"\n[\n \t]")


@dataclass
class FileLines:
    """The records of a run of lines: their 1-based physical line numbers and their bytes.

    A CSV header (the file's first non-blank line) is kept apart: it is not a record.
    """

    numbers: list[int] = field(default_factory=list)
    lines: list[bytes] = field(default_factory=list)
    header: bytes | None = None
    unterminated_line: int | None = None

    def __len__(self) -> int:
        return len(self.lines)

    def chunks(self, size: int) -> Iterator[FileLines]:
        """The records in consecutive runs of at most `size`, so a decoder holds the Python
        objects of one run at a time, not of a whole block."""
        for start in range(0, max(len(self.lines), 1), size):
            end = start + size
            yield FileLines(
                self.numbers[start:end], self.lines[start:end], self.header, self.unterminated_line
            )


def split_lines(
    data: bytes, has_header: bool = False, first_line: int = 1, final: bool = True
) -> FileLines:
    """Number the lines of `data`, which starts at physical line `first_line` of its file;
    `final` when it ends the file (only then can its last line be unterminated)."""
    if first_line == 1 and data.startswith(BOM):
        data = data[len(BOM) :]
    parts = data.split(b"\n")
    terminated = parts[-1] == b""
    if terminated:
        parts.pop()
    result = FileLines()
    numbers, lines = result.numbers, result.lines
    for number, line in enumerate(parts, start=first_line):
        if line.endswith(b"\r"):
            line = line[:-1]
        if not line.strip(_BLANK):
            continue
        numbers.append(number)
        lines.append(line)
    last_physical = first_line + len(parts) - 1
    if final and not terminated and numbers and numbers[-1] == last_physical:
        result.unterminated_line = numbers[-1]
    if has_header and lines:
        result.header = lines.pop(0)
        numbers.pop(0)
    return result


@dataclass(frozen=True)
class Block:
    """Whole physical lines of a file, starting at line `first_line`; `final` ends the file."""

    data: bytes
    first_line: int
    final: bool
    header: bytes | None = None
    has_header: bool = False

    @cached_property
    def records(self) -> FileLines:
        lines = split_lines(self.data, self.has_header, self.first_line, self.final)
        if not self.has_header:
            lines.header = self.header
        return lines

    @property
    def line_count(self) -> int:
        """Physical lines in the block."""
        if not self.data:
            return 0
        return self.data.count(b"\n") + (0 if self.data.endswith(b"\n") else 1)

    def json_lines(self) -> bytes | None:
        """The block itself when each of its physical lines is one record as it stands (no blank
        line, no `\\r`, no leading blank, no BOM): then record i is line `first_line + i`."""
        data = self.data
        if self.has_header or (self.first_line == 1 and data.startswith(BOM)):
            return None
        if data[:1] in (b"\n", b" ", b"\t") or b"\r" in data or _BLANK_START.search(data):
            return None
        return data


class LineBlocks:
    """A landing file's (decompressed) bytes as `Block`s of whole lines of about `block_bytes`.

    `read_error` says, after iteration, why a gzip stream ended early; what could be read
    before the damage is still yielded.
    """

    def __init__(
        self,
        path: StoragePath,
        gzipped: bool,
        has_header: bool = False,
        block_bytes: int = BLOCK_BYTES,
    ):
        self.path, self.gzipped, self.has_header = path, gzipped, has_header
        self.block_bytes = block_bytes
        self.read_error: str | None = None

    def __iter__(self) -> Iterator[Block]:
        first_line, carry, header_pending = 1, b"", self.has_header
        header: bytes | None = None
        for piece in self._pieces():
            data = carry + piece
            cut = data.rfind(b"\n") + 1
            if not cut:
                carry = data
                continue
            block = Block(data[:cut], first_line, False, header, header_pending)
            carry = data[cut:]
            first_line += block.line_count
            if header_pending:
                header = block.records.header
                header_pending = header is None
            yield block
        yield Block(carry, first_line, True, header, header_pending)

    def _pieces(self) -> Iterator[bytes]:
        with self.path.open("rb") as handle:
            if self.gzipped:
                yield from self._gunzip(handle)
                return
            while piece := handle.read(self.block_bytes):
                yield piece

    def _gunzip(self, handle: BinaryIO) -> Iterator[bytes]:
        """Every gzip member in turn; a cut-off or corrupt stream stops with `read_error` set."""
        inflater, started, pending = zlib.decompressobj(wbits=31), False, b""
        while True:
            if not pending:
                pending = handle.read(self.block_bytes)
                if not pending:
                    break
            started = True
            try:
                piece = inflater.decompress(pending, self.block_bytes)
            except zlib.error as error:
                self.read_error = f"gzip stream is corrupt: {error}"
                return
            pending = inflater.unconsumed_tail
            if piece:
                yield piece
            if inflater.eof:
                pending = inflater.unused_data + pending
                inflater, started = zlib.decompressobj(wbits=31), False
        if started:
            self.read_error = "gzip stream ends before its end-of-stream marker"
