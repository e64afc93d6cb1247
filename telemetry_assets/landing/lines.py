"""Physical lines of a landing file, exactly as the landing contract numbers them.

Lines split on `\\n` only (never `str.splitlines()`, which also breaks on U+2028, U+2029 and
U+0085 inside JSON strings); one trailing `\\r` is dropped; a UTF-8 BOM at file start is
dropped; blank lines are skipped but still count for numbering. Bytes stay bytes here so a
line that is not UTF-8 reaches the decoder and becomes an `invalid_json` record.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

BOM = b"\xef\xbb\xbf"
_BLANK = b" \t"


@dataclass
class FileLines:
    """The records of one file: their 1-based physical line numbers and their bytes.

    A CSV header (the first non-blank line) is kept apart: it is not a record.
    """

    numbers: list[int] = field(default_factory=list)
    lines: list[bytes] = field(default_factory=list)
    header: bytes | None = None
    unterminated_line: int | None = None
    read_error: str | None = None

    def __len__(self) -> int:
        return len(self.lines)

    def chunks(self, size: int) -> Iterator[FileLines]:
        """The records in consecutive runs of at most `size`, so a decoder holds the Python
        objects of one run at a time, not of a whole file."""
        for start in range(0, max(len(self.lines), 1), size):
            end = start + size
            yield FileLines(
                self.numbers[start:end],
                self.lines[start:end],
                self.header,
                self.unterminated_line,
                self.read_error,
            )


def gunzip(data: bytes) -> tuple[bytes, str | None]:
    """Decompress every gzip member; a cut-off or corrupt stream keeps what could be read.

    The readable prefix still yields its records (a cut-off last line becomes a
    `truncated_line` record); the error text is returned so the run can report it.
    """
    chunks: list[bytes] = []
    rest = data
    while rest:
        inflater = zlib.decompressobj(wbits=31)
        try:
            chunks.append(inflater.decompress(rest))
            chunks.append(inflater.flush())
        except zlib.error as error:
            return b"".join(chunks), f"gzip stream is corrupt: {error}"
        if not inflater.eof:
            return b"".join(chunks), "gzip stream ends before its end-of-stream marker"
        rest = inflater.unused_data
    return b"".join(chunks), None


def split_lines(data: bytes, has_header: bool = False) -> FileLines:
    if data.startswith(BOM):
        data = data[len(BOM) :]
    parts = data.split(b"\n")
    terminated = parts[-1] == b""
    if terminated:
        parts.pop()
    result = FileLines()
    numbers, lines = result.numbers, result.lines
    for number, line in enumerate(parts, start=1):
        if line.endswith(b"\r"):
            line = line[:-1]
        if not line.strip(_BLANK):
            continue
        numbers.append(number)
        lines.append(line)
    if not terminated and numbers and numbers[-1] == len(parts):
        result.unterminated_line = numbers[-1]
    if has_header and lines:
        result.header = lines.pop(0)
        numbers.pop(0)
    return result


def read_lines(path: Path, gzipped: bool, has_header: bool = False) -> FileLines:
    data = path.read_bytes()
    error = None
    if gzipped:
        data, error = gunzip(data)
    result = split_lines(data, has_header)
    result.read_error = error
    return result
