"""Writing the nine files the way the originals are written.

The originals come from an exporter that quotes a text value only when it starts with a
digit or must be quoted (comma, double quote, line break), never numbers or timestamps,
and quotes every header name. The translation file is different: UTF-8 BOM, CRLF,
unquoted header and no line break after its last row.
"""

from __future__ import annotations

import gzip
import io
import itertools
import logging
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, TextIO

from olist_elt.spec import STRING, OlistFile

Row = Mapping[str, str | None]

log = logging.getLogger(__name__)

_DIGITS = frozenset("0123456789")
_FLUSH_EVERY = 4096  # rows buffered before one write call


def quote(value: str | None) -> str:
    """A text value as the original exporter writes it; None and '' become an empty field."""
    if not value:
        return ""
    # Plain membership tests: several times faster than a regex on this hot path.
    if value[0] in _DIGITS or '"' in value or "," in value or "\n" in value or "\r" in value:
        return '"' + value.replace('"', '""') + '"'
    return value


def compile_formatter(olist_file: OlistFile) -> Callable[[Row], str]:
    """A function turning a row mapping into one CSV line, in the spec's column order.

    Built as source once per file because it runs for every one of ~1.5 million rows at
    scale 1: with a generic per-column loop, formatting was the largest single cost.
    """
    fields = [
        f"quote(row[{column.name!r}])" if column.type == STRING else f"(row[{column.name!r}] or '')"
        for column in olist_file.columns
    ]
    source = f"def format_row(row):\n    return ','.join(({', '.join(fields)},))\n"
    namespace: dict[str, Any] = {"quote": quote}
    exec(compile(source, f"<csv formatter for {olist_file.file_name}>", "exec"), namespace)
    return namespace["format_row"]


@dataclass(frozen=True)
class FileStyle:
    bom: bool = False
    line_end: str = "\n"
    final_line_end: bool = True
    quote_header: bool = True


DEFAULT_STYLE = FileStyle()
STYLES: dict[str, FileStyle] = {
    "product_category_name_translation": FileStyle(
        bom=True, line_end="\r\n", final_line_end=False, quote_header=False
    ),
}


def output_name(olist_file: OlistFile, compress: bool) -> str:
    return olist_file.file_name + (".gz" if compress else "")


class TableWriter:
    """Streams rows of one Olist file; column order and quoting come from the spec.

    Rows are mappings keyed by the file's header names. Text columns go through
    `quote`; the other types arrive already formatted (money with two decimals,
    timestamps as 'YYYY-MM-DD HH:MM:SS') and are written as they are.
    """

    def __init__(
        self, out_dir: Path, olist_file: OlistFile, compress: bool = False, name: str | None = None
    ) -> None:
        self.olist_file = olist_file
        self.path = out_dir / (name or output_name(olist_file, compress))
        self._tmp_path = self.path.with_name(self.path.name + ".tmp")
        self._style = STYLES.get(olist_file.table, DEFAULT_STYLE)
        self._names = frozenset(olist_file.column_names)
        self._format = compile_formatter(olist_file)
        self._compress = compress
        self._stream: TextIO | None = None
        self._buffer: list[str] = []
        self._checked = False
        self.rows = 0

    def __enter__(self) -> TableWriter:
        raw = open(self._tmp_path, "wb")  # closed in __exit__
        binary: io.BufferedIOBase | gzip.GzipFile = raw
        if self._compress:
            # mtime=0 and a fixed name keep the gzip header, and so the bytes, reproducible.
            binary = gzip.GzipFile(
                filename=self.path.name.removesuffix(".gz"),
                mode="wb",
                fileobj=raw,
                mtime=0,
                compresslevel=6,
            )
        self._raw = raw
        self._stream = io.TextIOWrapper(binary, encoding="utf-8", newline="")
        header = [
            f'"{name}"' if self._style.quote_header else name
            for name in self.olist_file.column_names
        ]
        self._stream.write(("\ufeff" if self._style.bom else "") + ",".join(header))
        return self

    def write(self, row: Row) -> None:
        if not self._checked:
            self._check_keys(row)
        self._buffer.append(self._format(row))
        if len(self._buffer) >= _FLUSH_EVERY:
            self._flush()

    def write_all(self, rows: Iterable[Row]) -> None:
        # write() inlined: geolocation alone is a million rows at scale 1.
        format_row = self._format
        buffer = self._buffer
        for row in rows:
            if not self._checked:
                self._check_keys(row)
            buffer.append(format_row(row))
            if len(buffer) >= _FLUSH_EVERY:
                self._flush()

    def _check_keys(self, row: Row) -> None:
        keys = frozenset(row)
        if keys != self._names:
            raise ValueError(
                f"{self.olist_file.file_name}: generated row has columns {sorted(keys)}, "
                f"spec expects {sorted(self._names)}"
            )
        self._checked = True

    def _flush(self) -> None:
        assert self._stream is not None
        if self._buffer:
            # Every row starts with a line end, which closes the previous line: this is
            # what lets the translation file end without one.
            end = self._style.line_end
            self._stream.write(end + end.join(self._buffer))
            self.rows += len(self._buffer)
            self._buffer.clear()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._stream is not None
        if exc_type is None:
            self._flush()
            if self._style.final_line_end:
                self._stream.write(self._style.line_end)
        self._stream.close()
        if not self._raw.closed:  # GzipFile does not close a file object it was given
            self._raw.close()
        if exc_type is None:
            os.replace(self._tmp_path, self.path)
        else:
            self._tmp_path.unlink(missing_ok=True)


class PartedWriter:
    """One table as a whole file (``parts`` 1) or as ``parts`` files ``<stem>_part<K>.csv[.gz]``.

    Rows are grouped in units (a row, or an order for the tables written per order, so that
    an order's items, payments and reviews are in the same part as the order); part K holds
    units ``[units * (K-1) // parts, units * K // parts)``: about equal parts, and the parts
    read in order are the whole file's rows, row for row. Each part has the header. Only
    one part is open at a time, so memory does not grow with the number of parts.

    ``on_file`` is called with each file once it is complete (renamed into place). When the
    table is complete, the other copies of it in the folder (whole file, other compression,
    parts of an earlier split) are removed: the loader would refuse or mix them.
    """

    def __init__(
        self,
        out_dir: Path,
        olist_file: OlistFile,
        compress: bool = False,
        *,
        parts: int = 1,
        units: int = 0,
        on_file: Callable[[Path], None] | None = None,
    ) -> None:
        if parts < 1:
            raise ValueError(f"parts must be >= 1, got {parts}")
        self.out_dir = out_dir
        self.olist_file = olist_file
        self.compress = compress
        # Never an empty part: a tiny table gets as many parts as it has units.
        self.parts = max(1, min(parts, units))
        self._starts = [units * k // self.parts for k in range(1, self.parts)]
        self._on_file = on_file
        self._writer: TableWriter | None = None
        self._number = 0
        self.files: list[Path] = []
        self.rows = 0

    def _name(self, number: int) -> str:
        if self.parts == 1:
            return output_name(self.olist_file, self.compress)
        return self.olist_file.part_name(number, self.parts, self.compress)

    def _open(self, number: int) -> None:
        self._number = number
        self._writer = TableWriter(self.out_dir, self.olist_file, self.compress, self._name(number))
        self._writer.__enter__()

    def _close(self) -> None:
        writer, self._writer = self._writer, None  # closed once, even if on_file fails
        assert writer is not None
        writer.__exit__(None, None, None)
        self.rows += writer.rows
        self.files.append(writer.path)
        if self._on_file is not None:
            self._on_file(writer.path)

    def __enter__(self) -> PartedWriter:
        self._open(1)
        return self

    def at(self, unit: int) -> None:
        """The rows written next belong to ``unit`` (0-based, never decreasing)."""
        while self._number < self.parts and unit >= self._starts[self._number - 1]:
            self._close()
            self._open(self._number + 1)

    def write(self, row: Row) -> None:
        assert self._writer is not None
        self._writer.write(row)

    def write_all(self, rows: Iterable[Row]) -> None:
        """Rows of the current unit (see ``at``)."""
        assert self._writer is not None
        self._writer.write_all(rows)

    def write_units(self, rows: Iterable[Row]) -> None:
        """All the table's rows, each its own unit, split across the parts."""
        iterator = iter(rows)
        done = 0
        for start in self._starts[self._number - 1 :]:
            assert self._writer is not None
            self._writer.write_all(itertools.islice(iterator, start - done))
            done = start
            self.at(start)
        assert self._writer is not None
        self._writer.write_all(iterator)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is not None:
            if self._writer is not None:
                self._writer.__exit__(exc_type, exc, tb)
            return
        self._close()
        if self._number != self.parts:
            raise RuntimeError(
                f"{self.olist_file.file_name}: wrote {self._number} of {self.parts} parts: "
                "fewer units than announced"
            )
        written = {path.name for path in self.files}
        pattern = self.olist_file.name_pattern
        for path in sorted(self.out_dir.iterdir()):
            if pattern.match(path.name) and path.name not in written and path.is_file():
                path.unlink()
                log.info("removed %s, replaced by %s", path.name, self._name(1))
