"""Loading into DuckDB: real files, audit, skip/force, and bad inputs that change nothing."""

from __future__ import annotations

import gzip
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pytest

from loader_files import REAL_ROWS, rows_for, to_csv, write_profiles, write_set, write_table
from olist_elt.load.loader import LoadReport, load
from olist_elt.spec import OLIST_FILES, by_table


@dataclass
class Warehouse:
    source: Path
    profiles: Path
    database: Path

    def load(self, **options: Any) -> LoadReport:
        options.setdefault("source", str(self.source))
        return load(target="duckdb", profiles_dir=str(self.profiles), **options)

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        with duckdb.connect(str(self.database), read_only=True) as connection:
            return connection.execute(sql).fetchall()

    def count(self, table: str) -> int:
        return self.query(f"select count(*) from raw_olist.{table}")[0][0]

    def load_ids(self, table: str) -> set[str]:
        return {r[0] for r in self.query(f"select distinct _load_id from raw_olist.{table}")}


@pytest.fixture
def warehouse(tmp_path: Path) -> Warehouse:
    database = tmp_path / "wh" / "olist.duckdb"
    return Warehouse(
        source=tmp_path / "source",
        profiles=write_profiles(tmp_path / "profiles", duckdb_path=database),
        database=database,
    )


def result(report: LoadReport, table: str):  # type: ignore[no-untyped-def]
    return next(t for t in report.tables if t.table == table)


@pytest.mark.slow
def test_real_files_load_with_readme_counts(real_olist_dir: Path, warehouse: Warehouse) -> None:
    report = warehouse.load(source=str(real_olist_dir))
    assert report.ok, [t.error for t in report.tables]
    for table, rows in REAL_ROWS.items():
        assert warehouse.count(table) == rows, table
        assert (result(report, table).rows_read, result(report, table).rows_loaded) == (rows, rows)
    # Quirks survive: BOM + CRLF translation file, quoted line breaks in reviews, zip prefixes.
    assert warehouse.query(
        "select count(*) from raw_olist.product_category_name_translation "
        "where product_category_name like '%\ufeff%' or product_category_name_english like '%\r%'"
    ) == [(0,)]
    assert (
        warehouse.query(
            "select count(*) from raw_olist.order_reviews where review_comment_message like '%\n%'"
        )[0][0]
        > 0
    )
    assert warehouse.query(
        "select count(*) from raw_olist.customers where customer_zip_code_prefix like '0%'"
    ) == [(23_995,)]
    audit = warehouse.query(
        "select table_name, rows_read, rows_loaded, status, source_bytes, length(source_checksum) "
        "from raw_olist._load_runs where table_name <> '*'"
    )
    assert {(r[0], r[1], r[2], r[3]) for r in audit} == {
        (t, n, n, "loaded") for t, n in REAL_ROWS.items()
    }
    assert all(r[5] == 64 for r in audit)  # sha256 hex


def test_raw_table_shape_and_lineage(warehouse: Warehouse) -> None:
    write_set(warehouse.source)
    report = warehouse.load()
    assert report.ok
    columns = warehouse.query(
        "select column_name, data_type from information_schema.columns "
        "where table_schema = 'raw_olist' and table_name = 'orders' order by ordinal_position"
    )
    spec = by_table("orders")
    assert columns == [(c, "VARCHAR") for c in spec.column_names] + [
        ("_source_file", "VARCHAR"),
        ("_loaded_at", "TIMESTAMP"),
        ("_load_id", "VARCHAR"),
        ("_ingest_date", "DATE"),
    ]
    lineage = warehouse.query(
        "select distinct _source_file, _load_id, _ingest_date from raw_olist.orders"
    )
    # A full load has no drop day.
    assert lineage == [(str(warehouse.source / spec.file_name), report.load_id, None)]
    # Empty fields are NULL; quoted line breaks and quotes are kept.
    assert warehouse.query(
        "select count(*) from raw_olist.orders where order_approved_at is null"
    ) == [(1,)]
    message = warehouse.query(
        "select review_comment_message from raw_olist.order_reviews "
        "where review_id = 'a0_review_id'"
    )
    assert message == [('line one\nline "two", with comma',)]


def test_unchanged_sources_are_skipped_and_force_reloads(warehouse: Warehouse) -> None:
    write_set(warehouse.source)
    first = warehouse.load()
    assert first.ok and first.count("loaded") == 9
    second = warehouse.load()
    assert second.ok and second.count("skipped") == 9
    assert warehouse.load_ids("orders") == {first.load_id}
    forced = warehouse.load(force=True)
    assert forced.ok and forced.count("loaded") == 9
    assert warehouse.load_ids("orders") == {forced.load_id}
    statuses = warehouse.query(
        "select load_id, status, count(*) from raw_olist._load_runs where table_name <> '*' "
        "group by load_id, status order by min(started_at)"
    )
    assert statuses == [
        (first.load_id, "loaded", 9),
        (second.load_id, "skipped", 9),
        (forced.load_id, "loaded", 9),
    ]


def test_changed_file_is_reloaded_and_touched_file_is_skipped(warehouse: Warehouse) -> None:
    write_set(warehouse.source)
    warehouse.load()
    orders = warehouse.source / by_table("orders").file_name
    stat = orders.stat()
    # Same bytes, new mtime: hashed, found equal, skipped.
    os.utime(orders, ns=(stat.st_atime_ns, stat.st_mtime_ns + 5_000_000_000))
    touched = warehouse.load()
    assert result(touched, "orders").status == "skipped"
    # Same size, different bytes: reloaded.
    data = orders.read_bytes()
    orders.write_bytes(data.replace(b"a0_order_id", b"b0_order_id"))
    changed = warehouse.load()
    assert result(changed, "orders").status == "loaded"
    assert changed.count("skipped") == 8
    assert warehouse.query(
        "select count(*) from raw_olist.orders where order_id = 'b0_order_id'"
    ) == [(1,)]


def test_noop_run_does_not_read_the_files(
    warehouse: Warehouse, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_set(warehouse.source, count=2000)
    assert warehouse.load().ok

    def no_reading(*args: object, **kwargs: object) -> None:
        raise AssertionError("an unchanged local file was read")

    monkeypatch.setattr("olist_elt.load.sources.LocalSource.iter_raw", no_reading)
    started = time.perf_counter()
    report = warehouse.load()
    assert report.ok and report.count("skipped") == 9
    assert time.perf_counter() - started < 1.0


def test_gzip_and_parts(warehouse: Warehouse) -> None:
    write_set(warehouse.source, gzip=True)
    (warehouse.source / "olist_orders_dataset.csv.gz").unlink()
    spec = by_table("orders")
    for part, tag in ((2, "p"), (1, "q"), (10, "r")):
        data = to_csv(spec.column_names, rows_for(spec, 4, tag))
        (warehouse.source / f"olist_orders_dataset_part{part}.csv.gz").write_bytes(
            gzip.compress(data)
        )
    report = warehouse.load()
    assert report.ok, [t.error for t in report.tables]
    orders = result(report, "orders")
    assert (orders.rows_read, orders.rows_loaded) == (12, 12)
    assert orders.source_uri.endswith("olist_orders_dataset_part*.csv.gz")
    files = warehouse.query(
        "select _source_file, count(*) from raw_olist.orders group by 1 order by 1"
    )
    assert [(Path(f).name, n) for f, n in files] == [
        ("olist_orders_dataset_part1.csv.gz", 4),
        ("olist_orders_dataset_part10.csv.gz", 4),
        ("olist_orders_dataset_part2.csv.gz", 4),
    ]


def test_subset_of_tables(warehouse: Warehouse) -> None:
    write_table(warehouse.source.mkdir(parents=True) or warehouse.source, "sellers")
    report = warehouse.load(tables=["sellers"])
    assert report.ok and [t.table for t in report.tables] == ["sellers"]


# --- bad inputs: a clear message, and the previous load still in place ---------------------


def _semicolons(spec_table: str) -> bytes:
    spec = by_table(spec_table)
    return to_csv(spec.column_names, rows_for(spec, 2)).replace(b",", b";")


def _header(columns: list[str]) -> bytes:
    return to_csv(columns, [[f"v{i}" for i in range(len(columns))]])


ORDERS = list(by_table("orders").column_names)
BAD_ORDERS: dict[str, tuple[bytes | None, list[str]]] = {
    # case: (file content, None = delete the file), fragments the error must contain
    "missing file": (None, ["missing file for table orders", "olist_orders_dataset.csv"]),
    "empty file": (b"", ["olist_orders_dataset.csv", "empty file (0 bytes)"]),
    "header only": (",".join(ORDERS).encode() + b"\n", ["no data rows"]),
    "wrong column": (
        _header([*ORDERS[:-1], "order_estimated_date"]),
        ["header does not match", "missing: order_estimated_delivery_date",
         "unexpected: order_estimated_date"],
    ),
    "missing column": (
        _header(ORDERS[:-1]), ["expected 8 columns", "found 7", "missing: order_estimated"]
    ),
    "extra column": (_header([*ORDERS, "extra"]), ["found 9", "unexpected: extra"]),
    "semicolons": (_semicolons("orders"), ["contains ';'", "comma-separated"]),
    "not utf-8": (
        _header(ORDERS) + "x,y,z,São Paulo,,,,\n".encode("latin-1"),
        ["olist_orders_dataset.csv: line 3", "not valid UTF-8"],
    ),
    "unterminated quote": (
        _header(ORDERS) + b'1,2,"open,4,5,6,7,8\n9,9,9,9,9,9,9,9\n',
        ["unterminated quoted field", "starting at line 3"],
    ),
    "short row": (
        _header(ORDERS) + b"1,2,3\n",
        ["olist_orders_dataset.csv: line 3", "expected 8 fields (the spec's columns), found 3"],
    ),
    "blank line": (
        _header(ORDERS) + b"\n" + _header(ORDERS).split(b"\n")[1] + b"\n",
        ["row count mismatch", "3 data rows", "loaded 2"],
    ),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(BAD_ORDERS))
def test_bad_orders_file_fails_and_keeps_previous_rows(warehouse: Warehouse, case: str) -> None:
    write_set(warehouse.source)
    first = warehouse.load()
    assert first.ok
    orders = warehouse.source / by_table("orders").file_name
    content, fragments = BAD_ORDERS[case]
    if content is None:
        orders.unlink()
    else:
        orders.write_bytes(content)
    report = warehouse.load()
    assert not report.ok
    failed = result(report, "orders")
    assert failed.status == "failed"
    for fragment in fragments:
        assert fragment in (failed.error or ""), failed.error
    assert report.count("skipped") == 8  # the other tables are independent
    assert warehouse.count("orders") == 3
    assert warehouse.load_ids("orders") == {first.load_id}
    audit = warehouse.query(
        f"select status, error from raw_olist._load_runs where load_id = '{report.load_id}' "
        "and table_name = 'orders'"
    )
    assert audit == [("failed", failed.error)]


def test_truncated_gzip_keeps_previous_rows(warehouse: Warehouse) -> None:
    write_set(warehouse.source, gzip=True)
    first = warehouse.load()
    assert first.ok
    path = warehouse.source / "olist_order_reviews_dataset.csv.gz"
    spec = by_table("order_reviews")
    blob = gzip.compress(to_csv(spec.column_names, rows_for(spec, 3000)))
    path.write_bytes(blob[: len(blob) // 2])
    report = warehouse.load()
    failed = result(report, "order_reviews")
    assert failed.status == "failed"
    assert "olist_order_reviews_dataset.csv.gz: truncated gzip" in failed.error
    assert warehouse.count("order_reviews") == 3
    assert warehouse.load_ids("order_reviews") == {first.load_id}


def test_ambiguous_files_are_refused(warehouse: Warehouse) -> None:
    write_set(warehouse.source)
    write_table(warehouse.source, "sellers", gzip=True)
    report = warehouse.load()
    failed = result(report, "sellers")
    assert failed.status == "failed"
    assert "ambiguous files for table sellers" in failed.error
    assert "olist_sellers_dataset.csv, olist_sellers_dataset.csv.gz" in failed.error


def test_missing_source_folder_fails_every_table(warehouse: Warehouse) -> None:
    report = warehouse.load(source=str(warehouse.source / "nope"))
    assert not report.ok
    assert {t.status for t in report.tables} == {"failed"}
    assert all("source folder not found" in t.error for t in report.tables)


def test_every_spec_table_is_loaded(warehouse: Warehouse) -> None:
    counts = write_set(warehouse.source, count=5)
    report = warehouse.load()
    assert [t.table for t in report.tables] == [f.table for f in OLIST_FILES]
    assert {t.table: warehouse.count(t.table) for t in report.tables} == counts


def test_unchanged_source_is_reloaded_when_the_table_has_an_older_shape(
    warehouse: Warehouse,
) -> None:
    """A raw table from an older spec (a lineage column missing) is not skipped as unchanged."""
    write_set(warehouse.source)
    assert warehouse.load().ok
    with duckdb.connect(str(warehouse.database)) as connection:
        connection.execute("alter table raw_olist.sellers drop column _ingest_date")
    second = warehouse.load()
    assert result(second, "sellers").status == "loaded"
    assert result(second, "orders").status == "skipped"
    columns = [row[0] for row in warehouse.query("describe raw_olist.sellers")]
    assert columns[-1] == "_ingest_date"
