"""Loading into PostgreSQL (throwaway server): real files, views surviving reloads, bad inputs."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import psycopg2
import pytest

from loader_files import REAL_ROWS, rows_for, to_csv, write_profiles, write_set
from olist_elt.dev import postgres as devserver
from olist_elt.load.loader import LoadReport, load
from olist_elt.spec import OLIST_FILES, by_table
from s3_server import S3Server


class Postgres:
    def __init__(self, server: devserver.PgServer, database: str, tmp_path: Path) -> None:
        self.dsn = server.dsn(database)
        self.source = tmp_path / "source"
        self.profiles = write_profiles(tmp_path / "profiles")

    def load(self, **options: Any) -> LoadReport:
        options.setdefault("source", str(self.source))
        return load(target="postgres", profiles_dir=str(self.profiles), **options)

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        connection = psycopg2.connect(self.dsn)
        try:
            with connection.cursor() as cursor:
                cursor.execute(sql)
                rows = cursor.fetchall() if cursor.description else []
            connection.commit()
            return rows
        finally:
            connection.close()

    def count(self, table: str) -> int:
        return self.query(f"select count(*) from raw_olist.{table}")[0][0]

    def load_ids(self, table: str) -> set[str]:
        return {r[0] for r in self.query(f"select distinct _load_id from raw_olist.{table}")}


@pytest.fixture
def pg(pg_env: devserver.PgServer, pg_database: str, tmp_path: Path) -> Postgres:
    return Postgres(pg_env, pg_database, tmp_path)


def result(report: LoadReport, table: str):  # type: ignore[no-untyped-def]
    return next(t for t in report.tables if t.table == table)


@pytest.mark.slow
def test_real_files_load_with_readme_counts(real_olist_dir: Path, pg: Postgres) -> None:
    report = pg.load(source=str(real_olist_dir))
    assert report.ok, [t.error for t in report.tables]
    # Loaded two at a time, reported in spec order.
    assert [t.table for t in report.tables] == [f.table for f in OLIST_FILES]
    for table, rows in REAL_ROWS.items():
        assert pg.count(table) == rows, table
    audit = pg.query(
        "select table_name, rows_read, rows_loaded, status from raw_olist._load_runs "
        "where table_name <> '*'"
    )
    assert set(audit) == {(t, n, n, "loaded") for t, n in REAL_ROWS.items()}
    assert (
        pg.query(
            "select count(*) from raw_olist.order_reviews where review_comment_message like "
            "'%' || chr(10) || '%'"
        )[0][0]
        > 0
    )
    # The lineage defaults are per load: none is left on the table.
    assert pg.query(
        "select count(*) from information_schema.columns where table_schema = 'raw_olist' "
        "and column_default is not null"
    ) == [(0,)]
    again = pg.load(source=str(real_olist_dir))
    assert again.count("skipped") == 9


def test_reload_keeps_dependent_views_working(pg: Postgres) -> None:
    write_set(pg.source)
    assert pg.load().ok
    pg.query("create view public.orders_view as select order_id, _load_id from raw_olist.orders")
    forced = pg.load(force=True)
    assert forced.ok
    assert {r[1] for r in pg.query("select * from public.orders_view")} == {forced.load_id}
    (pg.source / by_table("orders").file_name).write_bytes(b"order_id\n1\n")
    failed = pg.load()
    assert result(failed, "orders").status == "failed"
    assert {r[1] for r in pg.query("select * from public.orders_view")} == {forced.load_id}


def test_empty_fields_are_null(pg: Postgres) -> None:
    spec = by_table("orders")
    write_set(pg.source)
    (pg.source / spec.file_name).write_bytes(
        to_csv(spec.column_names, [["1", "", "x", "", "", "", "", ""]]).replace(b"1,,x", b'1,"",x')
    )
    assert pg.load(tables=["orders"]).ok
    assert pg.query(
        "select customer_id is null, order_approved_at is null from raw_olist.orders"
    ) == [(True, True)]


def test_table_with_other_columns_is_recreated(
    pg: Postgres, caplog: pytest.LogCaptureFixture
) -> None:
    write_set(pg.source)
    assert pg.load().ok
    pg.query("alter table raw_olist.sellers add column stray text")
    with caplog.at_level(logging.WARNING):
        report = pg.load(force=True, tables=["sellers"])
    assert report.ok
    assert "differ from the spec" in caplog.text
    columns = pg.query(
        "select column_name from information_schema.columns where table_schema = 'raw_olist' "
        "and table_name = 'sellers' order by ordinal_position"
    )
    assert [c[0] for c in columns] == [
        *by_table("sellers").column_names,
        "_source_file",
        "_loaded_at",
        "_load_id",
        "_ingest_date",
    ]


ORDERS = by_table("orders").column_names
GOOD_ROW = b",".join(f"v{i}".encode() for i in range(len(ORDERS)))
HEADER = ",".join(ORDERS).encode()
BAD_ORDERS: dict[str, tuple[bytes | None, list[str]]] = {
    "missing file": (None, ["missing file for table orders"]),
    "wrong header": (
        HEADER.replace(b"order_status", b"status") + b"\n" + GOOD_ROW + b"\n",
        ["header does not match", "missing: order_status", "unexpected: status"],
    ),
    "not utf-8": (
        HEADER + b"\n" + GOOD_ROW + b"\n" + GOOD_ROW.replace(b"v3", b"S\xe3o") + b"\n",
        ["olist_orders_dataset.csv: line 3", "not valid UTF-8"],
    ),
    "unterminated quote": (
        HEADER + b"\n" + GOOD_ROW + b'\n"open' + GOOD_ROW + b"\n",
        ["unterminated quoted field", "starting at line 3"],
    ),
    "short row": (
        HEADER + b"\n" + GOOD_ROW + b"\n1,2,3\n",
        ["olist_orders_dataset.csv: line 3", "expected 8 fields", "found fewer (no value for"],
    ),
    "header only": (HEADER + b"\n", ["no data rows"]),
}


@pytest.mark.parametrize("case", sorted(BAD_ORDERS))
def test_bad_orders_file_fails_and_keeps_previous_rows(pg: Postgres, case: str) -> None:
    write_set(pg.source)
    first = pg.load()
    assert first.ok
    path = pg.source / by_table("orders").file_name
    content, fragments = BAD_ORDERS[case]
    if content is None:
        path.unlink()
    else:
        path.write_bytes(content)
    report = pg.load()
    failed = result(report, "orders")
    assert failed.status == "failed"
    for fragment in fragments:
        assert fragment in failed.error, failed.error
    assert pg.count("orders") == 3
    assert pg.load_ids("orders") == {first.load_id}
    assert pg.query(
        f"select status from raw_olist._load_runs where load_id = '{report.load_id}' "
        "and table_name = 'orders'"
    ) == [("failed",)]
    # Nothing of the failed attempt lingers: no lineage default left behind.
    assert pg.query(
        "select count(*) from information_schema.columns where table_schema = 'raw_olist' "
        "and table_name = 'orders' and column_default is not null"
    ) == [(0,)]


def test_large_file_streams_in_chunks(pg: Postgres) -> None:
    spec = by_table("order_reviews")
    write_set(pg.source)
    rows = rows_for(spec, 30_000)
    (pg.source / spec.file_name).write_bytes(to_csv(spec.column_names, rows, newline="\r\n"))
    report = pg.load(tables=["order_reviews"])
    assert report.ok, report.tables[0].error
    assert (report.tables[0].rows_read, pg.count("order_reviews")) == (30_000, 30_000)


def test_s3_source_streams_into_copy(pg: Postgres, s3_env: S3Server) -> None:
    counts = write_set(pg.source, count=4)
    bucket = s3_env.new_bucket()
    s3_env.upload_folder(pg.source, bucket, "olist/")
    report = pg.load(source=f"s3://{bucket}/olist/")
    assert report.ok, [t.error for t in report.tables]
    assert {t: pg.count(t) for t in counts} == counts
    checksum = pg.query(
        "select source_checksum from raw_olist._load_runs where table_name = 'sellers'"
    )
    head = s3_env.client().head_object(Bucket=bucket, Key="olist/olist_sellers_dataset.csv")
    assert checksum == [(head["ETag"].strip('"'),)]
    assert pg.load(source=f"s3://{bucket}/olist/").count("skipped") == 9
