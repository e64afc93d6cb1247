import gzip
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from telemetry_assets.landing.lines import FileLines, LineBlocks, split_lines


def read_lines(
    path: Path, gzipped: bool, has_header: bool = False, block_bytes: int = 1 << 20
) -> tuple[FileLines, str | None]:
    """Every block of a file, joined back into one run of records."""
    reader = LineBlocks(path, gzipped, has_header, block_bytes)
    merged = FileLines()
    for block in reader:
        records = block.records
        merged.numbers += records.numbers
        merged.lines += records.lines
        merged.header = records.header
        merged.unterminated_line = records.unterminated_line or merged.unterminated_line
    return merged, reader.read_error


def test_split_on_newline_only_and_number_physical_lines():
    data = "a\u2028b\n\nc\u0085d\u2029\n  \t\nlast".encode()
    lines = split_lines(data)
    assert lines.numbers == [1, 3, 5]
    assert [line.decode() for line in lines.lines] == ["a\u2028b", "c\u0085d\u2029", "last"]
    assert lines.unterminated_line == 5


def test_one_trailing_cr_and_bom_are_dropped():
    lines = split_lines(b"\xef\xbb\xbf{}\r\n{}\r\r\n\r\n")
    assert lines.lines == [b"{}", b"{}\r"]
    assert lines.numbers == [1, 2]
    assert lines.unterminated_line is None


def test_bom_only_counts_at_file_start():
    lines = split_lines(b"{}\n\xef\xbb\xbf{}\n")
    assert lines.lines == [b"{}", b"\xef\xbb\xbf{}"]


def test_blank_unterminated_last_line_is_not_a_record():
    lines = split_lines(b"{}\n \t")
    assert lines.numbers == [1]
    assert lines.unterminated_line is None


def test_empty_file_has_no_records():
    assert len(split_lines(b"")) == 0


def test_line_over_one_mebibyte_stays_whole():
    big = b'{"x":"' + b"y" * (2 * 1024 * 1024) + b'"}'
    lines = split_lines(big + b"\n{}\n")
    assert lines.lines[0] == big
    assert lines.numbers == [1, 2]


def test_invalid_utf8_stays_bytes():
    lines = split_lines(b"\xff\xfe\n")
    assert lines.lines == [b"\xff\xfe"]


def test_gzip_multi_member(tmp_path):
    path = tmp_path / "f.jsonl.gz"
    path.write_bytes(gzip.compress(b"a\n") + gzip.compress(b"b\n"))
    lines, error = read_lines(path, gzipped=True)
    assert lines.lines == [b"a", b"b"]
    assert error is None


def test_truncated_gzip_keeps_readable_prefix_and_reports(tmp_path):
    body = b"".join(b'{"n":%d}\n' % i for i in range(2000))
    packed = gzip.compress(body)
    path = tmp_path / "cut.jsonl.gz"
    path.write_bytes(packed[: len(packed) // 2])
    lines, error = read_lines(path, gzipped=True, block_bytes=4096)
    assert error is not None
    assert 0 < len(lines) < 2000
    assert lines.unterminated_line == lines.numbers[-1] or lines.lines[-1].endswith(b"}")


def test_not_gzip_at_all_is_reported(tmp_path):
    path = tmp_path / "plain.jsonl.gz"
    path.write_bytes(b"{}\n")
    lines, error = read_lines(path, gzipped=True)
    assert len(lines) == 0
    assert "corrupt" in error


def test_csv_header_is_the_first_non_blank_line_and_not_a_record():
    lines = split_lines(b"\xef\xbb\xbf\n  \nts,a\r\n1,2\n", has_header=True)
    assert lines.header == b"ts,a"
    assert lines.numbers == [4]
    assert len(lines) == 1


line_bytes = st.sampled_from([b"{}", b"", b" \t", b"\r", b'{"a":"\xc3\xa9"}', b"x\r", b"h,1"])


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(line_bytes, max_size=30),
    st.booleans(),
    st.booleans(),
    st.booleans(),
    st.booleans(),
    st.integers(1, 40),
)
def test_blocks_number_lines_like_the_whole_file(
    tmp_path, parts, bom, terminated, gzipped, has_header, block_bytes
):
    """However a file is cut into blocks (and gzip output into pieces), the records, their
    numbers, the header and the unterminated last line are those of the whole file."""
    data = (b"\xef\xbb\xbf" if bom else b"") + b"\n".join(parts) + (b"\n" if terminated else b"")
    path = tmp_path / f"f-{block_bytes}-{gzipped}.jsonl"
    path.write_bytes(gzip.compress(data) if gzipped else data)
    whole = split_lines(data, has_header)
    lines, error = read_lines(path, gzipped, has_header, block_bytes)
    assert error is None
    assert (lines.numbers, lines.lines) == (whole.numbers, whole.lines)
    assert (lines.header, lines.unterminated_line) == (whole.header, whole.unterminated_line)
