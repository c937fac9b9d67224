"""One streaming pass over a CSV file's bytes: header, encoding and a CSV-aware row count.

The loader feeds every chunk of a file through a :class:`CsvChecker` on its way to
the warehouse (or to a temporary file), then compares the count with what the
engine says it loaded. The pass does no per-row Python work, so it keeps up with
COPY and read_csv:

- UTF-8: ``bytes.isascii()`` (memory speed) and an incremental decoder only for
  chunks that are not pure ASCII. A BOM is accepted.
- Records: a line break ends a record only outside double quotes. Deleting every
  byte but ``"`` and ``\\n`` (``bytes.translate``) and then every adjacent ``""``
  pair (they never contain a line break, so parity and counts are unchanged) leaves
  a short string whose quote-separated segments alternate outside/inside; the quote
  parity is carried from chunk to chunk. ``\\r\\n`` works unchanged (the ``\\r`` is
  deleted with the other bytes).
- The header is the first line; it is parsed with the csv module and must equal
  the spec's columns, in order.

- Line endings: the header line sets the style (LF or CRLF); every record end outside
  quotes must follow it (quoted fields may hold either). Chunks are only looked at
  byte by byte for this when they hold a CR or the file is CRLF.
- The header line must not come back later in the file (files concatenated with their
  headers): one ``bytes.find`` per chunk.
- No record may exceed ``MAX_RECORD_BYTES`` (a runaway quote, or not a CSV file): DuckDB
  fails above 2 MB and PostgreSQL does not, so the loader draws one line for both.

Rules: an empty file (0 bytes) and a file with a header but no data rows are errors;
a last line without a line break is a record; blank lines are not skipped here
(DuckDB skips them and PostgreSQL rejects them, so either way the load fails with
the count or the engine's message).
"""

from __future__ import annotations

import codecs
import csv
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from olist_elt.errors import CsvError

CHUNK_SIZE = 1 << 20
# A header longer than this without a line break means this is not a CSV with a header.
MAX_HEADER_BYTES = 1 << 20

MAX_RECORD_BYTES = 1 << 20

_KEEP_QUOTES_AND_LF = bytes(b for b in range(256) if b not in (0x22, 0x0A))
_KEEP_QUOTES_CR_LF = bytes(b for b in range(256) if b not in (0x22, 0x0A, 0x0D))
_LF_NOT_AFTER_CR = re.compile(rb"(?<!\r)\n")
_BOM = "\ufeff"
_GZIP_MAGIC = b"\x1f\x8b"
_OTHER_DELIMITERS = (";", "\t", "|")


@dataclass(frozen=True)
class CsvStats:
    """What the pass measured: data rows (header excluded) and decoded bytes."""

    data_rows: int
    bytes: int


class CsvChecker:
    """Validate a CSV stream chunk by chunk; raise :class:`CsvError` naming the file.

    ``label`` names the file in messages (path or s3:// URI); ``expected`` is the
    header the spec requires.
    """

    def __init__(self, label: str, expected: Sequence[str]) -> None:
        self.label = label
        self.expected = tuple(expected)
        self._decoder = codecs.getincrementaldecoder("utf-8")()
        self._bytes = 0
        self._lines = 0  # line breaks seen so far (physical lines)
        self._records = 0  # line breaks outside quotes seen so far
        self._record_start_line = 1  # physical line where the current record starts
        self._in_quote = False
        self._last_byte = b""
        self._head: bytes | None = b""  # first bytes until the header is complete
        self._crlf: bool | None = None  # the header line's ending: the file's style
        self._header_line = b""  # as in the file, to find it repeated later
        self._tail = b""  # end of the previous chunk, for matches across the boundary
        self._carry_cr = False  # a CR ended the previous chunk outside quotes
        self._since_record = 0  # bytes since the last record end (approximate, from above)

    def feed(self, chunk: bytes) -> None:
        if not chunk:
            return
        self._check_text(chunk)
        if self._head is not None:
            self._collect_header(chunk)
        self._count(chunk)
        self._check_repeated_header(chunk)
        self._bytes += len(chunk)
        self._last_byte = chunk[-1:]

    def finish(self) -> CsvStats:
        if self._bytes == 0:
            raise CsvError(f"{self.label}: empty file (0 bytes); expected a header and rows")
        try:
            self._decoder.decode(b"", final=True)
        except UnicodeDecodeError as exc:
            raise CsvError(
                f"{self.label}: not valid UTF-8: the file ends inside a multi-byte character "
                f"(line {self._lines + 1}, {exc.reason})"
            ) from None
        if self._head is not None:  # no line break at all: the whole file is the header
            self._check_header(self._head)
            self._head = None
        if self._in_quote:
            raise CsvError(
                f"{self.label}: unterminated quoted field: a double quote opened in the record "
                f"starting at line {self._record_start_line} is never closed"
            )
        records = self._records + (0 if self._last_byte == b"\n" else 1)
        data_rows = records - 1
        if data_rows <= 0:
            raise CsvError(f"{self.label}: no data rows: the file has only a header line")
        return CsvStats(data_rows=data_rows, bytes=self._bytes)

    # --- the three checks ----------------------------------------------------------

    def _check_text(self, chunk: bytes) -> None:
        if not self._bytes and chunk.startswith(_GZIP_MAGIC):
            raise CsvError(
                f"{self.label}: line 1, byte 1: the file is gzip-compressed (it starts with the "
                "gzip magic bytes 1f 8b) but is read as plain CSV; expected CSV text, or name "
                "it .csv.gz"
            )
        pending = self._decoder.getstate()[0]
        if not pending and chunk.isascii():
            if b"\x00" in chunk:
                self._fail_at(chunk, chunk.index(b"\x00"), "contains a NUL byte: not a text file")
            return
        try:
            self._decoder.decode(chunk)
        except UnicodeDecodeError as exc:
            offset = max(exc.start - len(pending), 0)
            bad = exc.object[exc.start : exc.end + 3]
            self._fail_at(
                chunk,
                offset,
                f"not valid UTF-8 ({exc.reason}, bytes {bad!r}); save the file as UTF-8",
            )
        if b"\x00" in chunk:
            self._fail_at(chunk, chunk.index(b"\x00"), "contains a NUL byte: not a text file")

    def _fail_at(self, chunk: bytes, offset: int, what: str) -> None:
        line = self._lines + chunk.count(b"\n", 0, offset) + 1
        line_start = chunk.rfind(b"\n", 0, offset) + 1
        # Unknown column when the line started in an earlier chunk.
        column = None if line_start == 0 and self._lines else offset - line_start + 1
        where = f"line {line}" + (f", byte {column} of the line" if column else "")
        raise CsvError(f"{self.label}: {where}: {what}")

    def _collect_header(self, chunk: bytes) -> None:
        assert self._head is not None
        head = self._head + chunk
        end = head.find(b"\n")
        if end < 0:
            if len(head) > MAX_HEADER_BYTES:
                raise CsvError(
                    f"{self.label}: no line break in the first {MAX_HEADER_BYTES:,} bytes: "
                    "not a CSV file with a header line"
                )
            self._head = head
            return
        self._crlf = head[:end].endswith(b"\r")
        self._header_line = head[:end].removeprefix(_BOM.encode()) + b"\n"
        self._check_header(head[:end])
        self._head = None

    def _check_header(self, line: bytes) -> None:
        text = line.decode("utf-8", errors="replace").removeprefix(_BOM).rstrip("\r")
        if "\r" in text:
            raise CsvError(
                f"{self.label}: line 1: carriage return inside the header line: the file "
                "ends its lines with CR only (classic Mac); expected LF or CRLF line endings"
            )
        try:
            found = tuple(next(csv.reader([text]), []))
        except csv.Error as exc:
            raise CsvError(f"{self.label}: line 1: the header is not a CSV line ({exc})") from None
        if found == self.expected:
            return
        expected_set, found_set = set(self.expected), set(found)
        details = []
        if missing := [c for c in self.expected if c not in found_set]:
            details.append("missing: " + ", ".join(missing))
        if extra := [c for c in found if c not in expected_set]:
            details.append("unexpected: " + ", ".join(extra))
        if not details:
            details.append(
                "same columns in another order"
                if len(found) == len(self.expected)
                else "duplicated columns"
            )
        if len(found) == 1 and (others := [d for d in _OTHER_DELIMITERS if d in found[0]]):
            shown = "TAB" if others[0] == "\t" else others[0]
            details.append(
                f"the header has no commas but contains {shown!r}: the file must be comma-separated"
            )
        raise CsvError(
            f"{self.label}: header does not match the spec: expected {len(self.expected)} "
            f"columns [{', '.join(self.expected)}], found {len(found)} [{', '.join(found)}] "
            f"({'; '.join(details)}) (line 1)"
        )

    def _count(self, chunk: bytes) -> None:
        records_before = self._records
        if self._crlf or self._carry_cr or b"\r" in chunk:
            self._count_with_cr(chunk)
        else:
            self._count_lf(chunk)
        self._check_record_size(chunk, self._records > records_before)

    def _count_lf(self, chunk: bytes) -> None:
        marks = chunk.translate(None, _KEEP_QUOTES_AND_LF)
        if b'"' in marks:
            marks = marks.replace(b'""', b"")
        if b'"' not in marks:
            breaks = len(marks)
            if breaks and not self._in_quote:
                self._records += breaks
                self._record_start_line = self._lines + breaks + 1
            self._lines += breaks
            return
        # After the deletions every segment holds only line breaks: its length counts them.
        in_quote = self._in_quote
        seen = 0
        for index, segment in enumerate(marks.split(b'"')):
            if index:
                in_quote = not in_quote
            breaks = len(segment)
            if breaks and not in_quote:
                self._records += breaks
                self._record_start_line = self._lines + seen + breaks + 1
            seen += breaks
        self._lines += seen
        self._in_quote = in_quote

    def _count_with_cr(self, chunk: bytes) -> None:
        """As _count_lf, keeping CRs to check that record ends follow the header's style."""
        marks = chunk.translate(None, _KEEP_QUOTES_CR_LF)
        if b'"' in marks:
            marks = marks.replace(b'""', b"")
        in_quote = self._in_quote
        seen = 0
        segments = marks.split(b'"')
        for index, segment in enumerate(segments):
            if index:
                in_quote = not in_quote
            if not in_quote:
                if self._carry_cr:
                    segment = b"\r" + segment
                    self._carry_cr = False
                if index == len(segments) - 1 and segment.endswith(b"\r"):
                    segment = segment[:-1]  # its LF, if any, starts the next chunk
                    self._carry_cr = True
                self._check_endings(segment, self._lines + seen)
            breaks = segment.count(b"\n")
            if breaks and not in_quote:
                self._records += breaks
                self._record_start_line = self._lines + seen + breaks + 1
            seen += breaks
        self._lines += seen
        self._in_quote = in_quote

    def _check_endings(self, segment: bytes, lines_before: int) -> None:
        """``segment``: the CR and LF bytes between quoted fields, in order."""
        if self._crlf is None or not segment:
            return
        if self._crlf:
            bad = _LF_NOT_AFTER_CR.search(segment)
            bare_cr = segment.replace(b"\r\n", b"").find(b"\r")
            if bad is None and bare_cr < 0:
                return
            offset = bad.start() if bad is not None else len(segment)
            found = "LF only" if bad is not None else "a CR without LF"
            expected = "CRLF"
        else:
            offset = segment.find(b"\r")
            if offset < 0:
                return
            found = "CRLF" if segment[offset + 1 : offset + 2] == b"\n" else "a CR without LF"
            expected = "LF"
        line = lines_before + segment.count(b"\n", 0, offset) + 1
        raise CsvError(
            f"{self.label}: line {line}: mixed line endings: this line ends with {found} but "
            f"the header line ends with {expected}; expected one style throughout the file"
        )

    def _check_record_size(self, chunk: bytes, ended_a_record: bool) -> None:
        if ended_a_record:
            self._since_record = len(chunk) - chunk.rfind(b"\n") - 1
        else:
            self._since_record += len(chunk)
        if self._since_record > MAX_RECORD_BYTES:
            raise CsvError(
                f"{self.label}: line {self._record_start_line}: the record starting there is "
                f"longer than {MAX_RECORD_BYTES:,} bytes; expected records (rows) under that "
                "size: a field that large, a quote never closed, or not a CSV file"
            )

    def _check_repeated_header(self, chunk: bytes) -> None:
        if not self._header_line or self._head is not None:
            return
        window = self._tail + chunk
        start = 1 if not self._tail else 0  # not the header itself, at the file's start
        found = window.find(b"\n" + self._header_line, start)
        if found < 0 and self._crlf:
            found = window.find(b"\n" + self._header_line[:-1] + b"\r\n", start)
        if found >= 0 and (self._tail or found > 0):
            before = window[: found + 1]
            line = self._lines - chunk.count(b"\n") - self._tail.count(b"\n")
            line += before.count(b"\n") + 1
            raise CsvError(
                f"{self.label}: line {line}: the header line appears again as a row; expected "
                "one header at the top (files concatenated with their headers?)"
            )
        self._tail = chunk[-(len(self._header_line) + 2) :]


def checked(chunks: Iterable[bytes], checker: CsvChecker) -> Iterator[bytes]:
    """Pass chunks through, feeding each to the checker first (errors stop the stream)."""
    for chunk in chunks:
        checker.feed(chunk)
        yield chunk
