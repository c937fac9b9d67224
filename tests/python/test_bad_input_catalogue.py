"""The bad-input catalogue (docs/loader.md, "Bad input"): each malformed input is one case.

Every case starts from a warehouse holding a good load, breaks the orders file (or its
S3 object) in one way, loads again and checks that:

- the orders table failed with a ONE-LINE error naming the file, the line (or byte, or
  header) and what was expected;
- the warehouse is as it was: orders holds the previous rows, from the previous load;
- the audit table records the failure with the same message.

The cases here are those not already covered by test_loader_duckdb.py (missing, empty
and header-only files, wrong/missing/extra columns, semicolons, a Latin-1 row, an
unterminated quote, a short row, a blank line), test_loader_postgres.py and
test_loader_s3.py (bucket or key missing, access denied); the table in docs/loader.md lists all.
Duplicate primary keys are the one input loaded as it is, with a warning.
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass
from pathlib import Path

import pytest

from fault_harness import FaultSummary, Warehouse, duckdb_warehouse, postgres_warehouse
from loader_files import rows_for, to_csv, write_set
from olist_elt.spec import by_table
from s3_server import S3Server

pytestmark = pytest.mark.faults

SPEC = by_table("orders")
NAME = SPEC.file_name
HEADER = ",".join(SPEC.column_names).encode()
ROW = b",".join(f"v{i}".encode() for i in range(len(SPEC.column_names)))


def row(tag: str) -> bytes:
    return ROW.replace(b"v0", tag.encode())


def lines(*parts: bytes, end: bytes = b"\n") -> bytes:
    return b"".join(part + end for part in parts)


def quoted_header(*names: str) -> bytes:
    return ",".join('"' + n.replace('"', '""') + '"' for n in names).encode()


@dataclass(frozen=True)
class Case:
    files: dict[str, bytes | None]  # file name -> content (None: a folder of that name)
    expect: tuple[str, ...]  # fragments of the error
    s3: bool = False  # the source is a bucket (the names are keys under its prefix)


ORDERS_REPLACED = {
    # name: (content of olist_orders_dataset.csv, fragments of the error)
    "NUL byte in a field": (
        lines(HEADER, row("a"), ROW.replace(b"v3", b"a\x00b")),
        ("line 3, byte 11 of the line", "NUL byte", "not a text file"),
    ),
    "header repeated mid-file": (
        lines(HEADER, row("a"), HEADER, row("b")),
        ("line 3", "the header line appears again", "one header at the top"),
    ),
    "row with too many fields": (
        lines(HEADER, row("a"), row("b") + b",extra", row("c")),
        ("line 3", "expected 8 fields (the spec's columns), found"),
    ),
    "row with too few fields": (
        lines(HEADER, row("a"), row("b").rsplit(b",", 1)[0], row("c")),
        ("line 3", "expected 8 fields (the spec's columns), found"),
    ),
    "mixed line endings: CRLF in an LF file": (
        lines(HEADER, row("a")) + row("b") + b"\r\n" + row("c") + b"\n",
        ("line 3", "mixed line endings", "ends with CRLF", "header line ends with LF"),
    ),
    "mixed line endings: LF in a CRLF file": (
        lines(HEADER, row("a"), end=b"\r\n") + row("b") + b"\n",
        ("line 3", "ends with LF only", "header line ends with CRLF"),
    ),
    "CR-only line endings (classic Mac)": (
        lines(HEADER, row("a"), row("b"), end=b"\r"),
        ("line 1", "CR only", "expected LF or CRLF"),
    ),
    "Latin-1 text": (
        lines(HEADER, row("a")) + "v0,v1,v2,São Paulo,v4,v5,v6,v7\n".encode("latin-1"),
        ("line 3", "not valid UTF-8", "save the file as UTF-8"),
    ),
    "Windows-1252 curly quotes": (
        lines(HEADER, row("a"), ROW.replace(b"v3", b"\x93quoted\x94")),
        ("line 3", "not valid UTF-8"),
    ),
    "invalid UTF-8: lone continuation byte": (
        lines(HEADER, row("a"), ROW.replace(b"v3", b"a\x80b")),
        ("line 3, byte 11 of the line", "not valid UTF-8", "invalid start byte"),
    ),
    "invalid UTF-8: overlong encoding of /": (
        lines(HEADER, row("a"), ROW.replace(b"v3", b"\xc0\xaf")),
        ("line 3", "not valid UTF-8"),
    ),
    "invalid UTF-8: truncated multi-byte character at the end": (
        lines(HEADER, row("a")) + ROW.replace(b"v7", b"a\xc3"),
        ("line 3", "ends inside a multi-byte character"),
    ),
    "UTF-16 file": (
        lines(HEADER, row("a")).decode().encode("utf-16"),
        ("line 1", "not valid UTF-8"),
    ),
    "gzip content named .csv": (
        gzip.compress(lines(HEADER, row("a"))),
        ("line 1, byte 1", "gzip-compressed", "expected CSV text, or name it .csv.gz"),
    ),
    "huge single field (3 MB)": (
        lines(HEADER, row("a"), ROW.replace(b"v3", b"x" * 3_000_000)),
        ("line 3", "longer than 1,048,576 bytes", "expected records (rows) under that size"),
    ),
    "no line break in the first MiB": (
        b"x" * 1_100_000,
        ("no line break in the first 1,048,576 bytes", "not a CSV file with a header line"),
    ),
    "stray quote in an unquoted field": (
        lines(HEADER, ROW.replace(b"v3", b'ab"c'), row("b")),
        ("unterminated quoted field", "starting at line 2"),
    ),
    "column name with SQL in it": (
        lines(
            quoted_header(
                'order_id"; drop table raw_olist.orders; --', *SPEC.column_names[1:]
            ),
            row("a"),
        ),
        ("header does not match", "unexpected: order_id\"; drop table raw_olist.orders; --",
         "missing: order_id", "(line 1)"),
    ),
    "header with a trailing space": (
        lines(HEADER.replace(b"order_status", b"order_status "), row("a")),
        ("header does not match", "missing: order_status", "unexpected: order_status ", "(line 1)"),
    ),
    "header in upper case": (
        lines(HEADER.upper(), row("a")),
        ("missing: order_id", "unexpected: ORDER_ID", "(line 1)"),
    ),
    "tab-separated file": (
        lines(HEADER.replace(b",", b"\t"), row("a").replace(b",", b"\t")),
        ("header does not match", "contains 'TAB'", "must be comma-separated"),
    ),
    "HTML error page saved as the file": (
        b"<html><head><title>503 Service Unavailable</title></head><body>busy</body></html>\n",
        ("header does not match", "expected 8 columns", "found 1"),
    ),
    "PNG image named .csv": (
        b"\x89PNG\r\n\x1a\n" + bytes(range(256)),
        ("line 1", "not valid UTF-8"),
    ),
}  # fmt: skip

CASES: dict[str, Case] = {
    name: Case({NAME: content}, expect) for name, (content, expect) in ORDERS_REPLACED.items()
}
CASES |= {
    "plain CSV named .csv.gz": Case(
        {NAME + ".gz": lines(HEADER, row("a"))},
        (NAME + ".gz: byte 1", "not valid gzip data", "expected a gzip file"),
    ),
    "gzip with an empty file inside": Case(
        {NAME + ".gz": gzip.compress(b"")},
        (NAME + ".gz", "empty file (0 bytes)", "expected a header and rows"),
    ),
    "a folder named like the file (Spark-style output)": Case(
        {NAME: None},
        (NAME + "/ is a folder, not a file", "expected " + NAME),
    ),
    "zero-byte object": Case(
        {NAME: b""},
        (NAME, "empty file (0 bytes)", "expected a header and rows"),
        s3=True,
    ),
    "a key that is a folder": Case(
        {NAME + "/": b"", NAME + "/part-00000.csv": lines(HEADER, row("a"))},
        (NAME + "/ is a folder, not a file", "expected " + NAME),
        s3=True,
    ),
    "file name with path traversal": Case(
        {"../" + NAME: lines(HEADER, row("a")), "..%2F" + NAME: lines(HEADER, row("b"))},
        ("missing file for table orders", "expected " + NAME),
        s3=True,
    ),
}


class Source:
    """The nine good files in a folder or a bucket, and a way to break the orders file."""

    def __init__(self, tmp_path: Path, s3: S3Server | None) -> None:
        self.folder = tmp_path / "source"
        write_set(self.folder, count=3)
        self.s3 = s3
        if s3 is not None:
            self.bucket = s3.new_bucket("bad")
            s3.upload_folder(self.folder, self.bucket, "olist/")
            self.uri = f"s3://{self.bucket}/olist/"
        else:
            self.uri = str(self.folder)

    def replace_orders(self, files: dict[str, bytes | None]) -> None:
        if self.s3 is not None:
            client = self.s3.client()
            client.delete_object(Bucket=self.bucket, Key="olist/" + NAME)
            for name, content in files.items():
                client.put_object(Bucket=self.bucket, Key="olist/" + name, Body=content or b"")
            return
        (self.folder / NAME).unlink()
        for name, content in files.items():
            if content is None:
                (self.folder / name).mkdir()
                (self.folder / name / "part-00000.csv").write_bytes(lines(HEADER, row("a")))
            else:
                (self.folder / name).write_bytes(content)


def check_rejected(wh: Warehouse, source: Source, case: Case, fault_summary: FaultSummary) -> str:
    first = wh.load(source.uri)
    assert first.ok, [t.error for t in first.tables if t.error]
    before = wh.rows("orders")
    source.replace_orders({k: v for k, v in case.files.items() if v is not None or not case.s3})
    report = wh.load(source.uri)
    failed = next(t for t in report.tables if t.table == "orders")
    assert failed.status == "failed", failed
    error = failed.error or ""
    assert "\n" not in error and "\r" not in error, repr(error)
    assert len(error) < 1000, error
    for fragment in case.expect:
        assert fragment in error, f"{fragment!r} not in {error!r}"
    assert NAME in error  # names the file
    # Nothing changed: the previous rows, from the previous load; the failure audited.
    with wh.reading():
        assert wh.rows("orders") == before
        assert wh.load_ids("orders") == {first.load_id}
        audit = wh.query(
            "select status, error from raw_olist._load_runs "
            f"where load_id = '{report.load_id}' and table_name = 'orders'"
        )
    assert audit == [("failed", error)]
    assert report.count("skipped") == 8
    fault_summary.count(f"bad inputs rejected ({wh.engine}), warehouse unchanged", 1)
    return error


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_is_rejected_with_a_one_line_error(
    case: str, tmp_path: Path, request: pytest.FixtureRequest, fault_summary: FaultSummary
) -> None:
    spec = CASES[case]
    s3 = request.getfixturevalue("s3_env") if spec.s3 else None
    check_rejected(duckdb_warehouse(tmp_path), Source(tmp_path, s3), spec, fault_summary)


# The engine sees these (field counts) or sees them mid-COPY (the checks run as PostgreSQL
# reads the stream): the same message and the same outcome on PostgreSQL.
ON_POSTGRES = [
    "row with too many fields",
    "row with too few fields",
    "header repeated mid-file",
    "mixed line endings: CRLF in an LF file",
    "huge single field (3 MB)",
    "NUL byte in a field",
]


@pytest.mark.parametrize("case", ON_POSTGRES)
def test_bad_input_on_postgres(
    case: str,
    tmp_path: Path,
    request: pytest.FixtureRequest,
    pg_env: object,
    pg_database: str,
    fault_summary: FaultSummary,
) -> None:
    server = request.getfixturevalue("pg_server")
    wh = postgres_warehouse(tmp_path, server.dsn(pg_database))
    check_rejected(wh, Source(tmp_path, None), CASES[case], fault_summary)


def test_duplicate_primary_keys_are_loaded_and_reported(
    tmp_path: Path, fault_summary: FaultSummary, capsys: pytest.CaptureFixture[str]
) -> None:
    wh = duckdb_warehouse(tmp_path)
    source = Source(tmp_path, None)
    assert wh.load(source.uri).ok
    rows = rows_for(SPEC, 4, tag="d")
    rows += [rows[0], rows[0], rows[1]]  # order d0 three times, d1 twice
    (source.folder / NAME).write_bytes(to_csv(SPEC.column_names, rows))
    report = wh.load(source.uri)
    orders = next(t for t in report.tables if t.table == "orders")
    assert orders.status == "loaded" and report.ok
    assert orders.warning is not None and "\n" not in orders.warning
    assert NAME in orders.warning
    assert "2 values of the primary key (order_id) occur more than once (3 extra rows)" in (
        orders.warning
    )
    assert "unique stg_olist__orders" in orders.warning or "staging tests" in orders.warning
    assert sum(wh.rows("orders").values()) == 7  # loaded as it is
    # The CLI shows it under the table's line.
    from olist_elt.load.output import format_result

    assert format_result(orders).splitlines()[1].strip().startswith("warning: ")
    fault_summary.count("duplicate primary keys: loaded as is, reported", 1)
