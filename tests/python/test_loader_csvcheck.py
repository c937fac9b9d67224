"""The streaming CSV pass: header, UTF-8, CSV-aware row count, whatever the chunking."""

from __future__ import annotations

import csv
import gzip
import io
import random

import pytest

from olist_elt.errors import CsvError, SourceError
from olist_elt.load.csvcheck import CsvChecker, CsvStats
from olist_elt.load.sources import decompressed

COLUMNS = ("id", "note")


def check(data: bytes, chunk: int | None = None, columns: tuple[str, ...] = COLUMNS) -> CsvStats:
    checker = CsvChecker("f.csv", columns)
    size = chunk or max(len(data), 1)
    for start in range(0, len(data), size):
        checker.feed(data[start : start + size])
    return checker.finish()


def every_chunking(data: bytes) -> list[int]:
    """Chunk sizes that put a boundary at every position (1), and a few others."""
    return [1, 2, 3, 5, 7, len(data) or 1]


def reference_rows(data: bytes) -> int:
    text = data.decode("utf-8-sig")
    return sum(1 for _ in csv.reader(io.StringIO(text, newline=""))) - 1


CASES = {
    "plain": b"id,note\n1,a\n2,b\n",
    "no final newline": b"id,note\n1,a\n2,b",
    "crlf": b"id,note\r\n1,a\r\n2,b\r\n",
    "bom crlf no final newline": b"\xef\xbb\xbfid,note\r\n1,a\r\n2,b",
    "quoted newline": b'id,note\n1,"line\nbreak"\n2,"x"\n',
    "quoted crlf": b'id,note\r\n1,"line\r\nbreak"\r\n2,b\r\n',
    "doubled quotes": b'id,note\n1,"say ""hi""\nthere"\n2,""""\n3,""\n',
    "comma in quotes": b'id,note\n"1","a,b"\n"2","c"\n',
    "utf8": "id,note\n1,são paulo\n2,açaí\n".encode(),
    "many quoted newlines": b"id,note\n"
    + b"".join(f'{i},"a\nb\n{i}"\n'.encode() for i in range(50)),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_row_count_matches_the_csv_module_at_every_chunk_boundary(name: str) -> None:
    data = CASES[name]
    expected = reference_rows(data)
    for size in every_chunking(data):
        assert check(data, size).data_rows == expected, f"chunk size {size}"


def test_row_count_on_random_quoted_content() -> None:
    rng = random.Random(7)
    alphabet = ['"', "\n", "\r\n", ",", "a", "é", " "]
    rows = []
    for index in range(300):
        note = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12)))
        rows.append([str(index), note])
    buffer = io.StringIO(newline="")
    csv.writer(buffer, lineterminator="\n").writerows([list(COLUMNS), *rows])
    data = buffer.getvalue().encode()
    for size in (1, 13, 64, 4096):
        assert check(data, size).data_rows == 300


def test_header_must_equal_the_spec() -> None:
    with pytest.raises(CsvError) as error:
        check(b"id,notes,extra\n1,a,b\n")
    message = str(error.value)
    assert "f.csv" in message
    assert "expected 2 columns [id, note]" in message
    assert "found 3 [id, notes, extra]" in message
    assert "missing: note" in message
    assert "unexpected: notes, extra" in message


def test_header_with_reordered_columns() -> None:
    with pytest.raises(CsvError, match="same columns in another order"):
        check(b"note,id\na,1\n")


def test_semicolon_file_is_explained() -> None:
    with pytest.raises(CsvError) as error:
        check(b"id;note\n1;a\n")
    assert "contains ';'" in str(error.value)
    assert "comma-separated" in str(error.value)


def test_header_split_across_chunks_is_checked() -> None:
    with pytest.raises(CsvError, match="missing: note"):
        check(b"id,nope\n1,a\n", chunk=1)
    assert check(b"\xef\xbb\xbfid,note\r\n1,a\r\n", chunk=1).data_rows == 1


def test_empty_file() -> None:
    with pytest.raises(CsvError, match=r"f\.csv: empty file \(0 bytes\)"):
        check(b"")


@pytest.mark.parametrize("data", [b"id,note\n", b"id,note", b"id,note\r\n"])
def test_header_only_is_an_error(data: bytes) -> None:
    with pytest.raises(CsvError, match="no data rows"):
        check(data)


def test_unterminated_quote_names_the_record_start() -> None:
    data = b'id,note\n1,a\n2,"never closed\n3,c\n4,d\n'
    for size in (1, 4, len(data)):
        with pytest.raises(CsvError) as error:
            check(data, size)
        assert "unterminated quoted field" in str(error.value)
        assert "starting at line 3" in str(error.value)


@pytest.mark.parametrize("size", [1, 2, 6, 1000])
def test_invalid_utf8_names_the_line(size: int) -> None:
    data = "id,note\n1,são\n".encode() + b"2,caf\xe9\n3,ok\n"
    with pytest.raises(CsvError) as error:
        check(data, size)
    assert "f.csv: line 3" in str(error.value)
    assert "not valid UTF-8" in str(error.value)


def test_multibyte_character_split_across_chunks_is_valid() -> None:
    data = "id,note\n1,ação\n".encode()
    assert check(data, chunk=1).data_rows == 1
    # A file cut in the middle of a character is not.
    with pytest.raises(CsvError, match="ends inside a multi-byte character"):
        check(data[:-3])  # drops "o\n" and the last byte of "ã"


def test_latin1_file_is_rejected() -> None:
    with pytest.raises(CsvError, match=r"line 2.*not valid UTF-8"):
        check("id,note\n1,são paulo\n".encode("latin-1"))


def test_nul_byte_is_rejected() -> None:
    with pytest.raises(CsvError, match=r"line 2.*NUL"):
        check(b"id,note\n1,a\x00b\n")


def test_bytes_counted() -> None:
    data = CASES["utf8"]
    assert check(data, 3).bytes == len(data)


def test_gunzip_stream_and_multi_member() -> None:
    payload = b"id,note\n" + b"1,a\n" * 1000
    double = gzip.compress(payload[:100]) + gzip.compress(payload[100:])
    raw = [double[i : i + 7] for i in range(0, len(double), 7)]
    assert b"".join(decompressed(raw, "x.csv.gz")) == payload


def test_truncated_gzip_is_an_error() -> None:
    blob = gzip.compress(b"id,note\n" + b"1,a\n" * 10000)
    with pytest.raises(SourceError, match=r"x\.csv\.gz: truncated gzip"):
        list(decompressed([blob[: len(blob) // 2]], "x.csv.gz"))


def test_not_gzip_is_an_error() -> None:
    with pytest.raises(SourceError, match="not valid gzip"):
        list(decompressed([b"id,note\n1,a\n"], "x.csv.gz"))
