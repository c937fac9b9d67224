"""Loading from S3 (moto server on loopback) into DuckDB, and the S3 failure cases."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import pytest

from loader_files import write_profiles, write_set, write_table
from olist_elt.load.loader import LoadReport, load
from olist_elt.spec import OLIST_FILES, by_table
from s3_server import S3Server

PREFIX = "exports/olist/"


class Lake:
    """A bucket with the nine files, and a DuckDB warehouse to load them into."""

    def __init__(self, s3: S3Server, tmp_path: Path) -> None:
        self.s3 = s3
        self.folder = tmp_path / "files"
        self.rows = write_set(self.folder, count=4)
        # Mix compressed and plain objects, as real drops do.
        for table in ("order_reviews", "geolocation"):
            (self.folder / by_table(table).file_name).unlink()
            write_table(self.folder, table, 4, gzip=True)
        self.bucket = s3.new_bucket()
        s3.upload_folder(self.folder, self.bucket, PREFIX)
        self.database = tmp_path / "olist.duckdb"
        self.profiles = write_profiles(tmp_path / "profiles", duckdb_path=self.database)

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{PREFIX}"

    def load(self, **options: Any) -> LoadReport:
        options.setdefault("source", self.uri)
        return load(target="duckdb", profiles_dir=str(self.profiles), **options)

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        with duckdb.connect(str(self.database), read_only=True) as connection:
            return connection.execute(sql).fetchall()

    def load_ids(self, table: str) -> set[str]:
        return {r[0] for r in self.query(f"select distinct _load_id from raw_olist.{table}")}


@pytest.fixture
def lake(s3_env: S3Server, tmp_path: Path) -> Lake:
    return Lake(s3_env, tmp_path)


def result(report: LoadReport, table: str):  # type: ignore[no-untyped-def]
    return next(t for t in report.tables if t.table == table)


def test_s3_to_duckdb_reconciles_with_the_audit_table(lake: Lake) -> None:
    report = lake.load()
    assert report.ok, [t.error for t in report.tables]
    client = lake.s3.client()
    for spec in OLIST_FILES:
        count = lake.query(f"select count(*) from raw_olist.{spec.table}")[0][0]
        assert count == lake.rows[spec.table]
        audit = lake.query(
            "select rows_read, rows_loaded, source_uri, source_checksum, source_bytes "
            f"from raw_olist._load_runs where table_name = '{spec.table}'"
        )
        name = spec.file_name + (".gz" if spec.table in ("order_reviews", "geolocation") else "")
        head = client.head_object(Bucket=lake.bucket, Key=PREFIX + name)
        assert audit == [
            (count, count, f"{lake.uri}{name}", head["ETag"].strip('"'), head["ContentLength"])
        ]
    sources = lake.query("select distinct _source_file from raw_olist.order_reviews")
    assert sources == [(f"{lake.uri}olist_order_reviews_dataset.csv.gz",)]


def test_unchanged_objects_are_skipped_by_etag(lake: Lake) -> None:
    assert lake.load().ok
    again = lake.load()
    assert again.ok and again.count("skipped") == 9
    write_table(lake.folder, "sellers", 4, tag="z")  # same size, other bytes
    lake.s3.client().upload_file(
        str(lake.folder / "olist_sellers_dataset.csv"),
        lake.bucket,
        PREFIX + "olist_sellers_dataset.csv",
    )
    changed = lake.load()
    assert result(changed, "sellers").status == "loaded"
    assert changed.count("skipped") == 8


def test_explicit_endpoint_url(lake: Lake, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_ENDPOINT_URL")
    assert lake.load(endpoint_url=lake.s3.endpoint_url, tables=["sellers"]).ok


def test_bucket_not_found(lake: Lake) -> None:
    first = lake.load()
    report = lake.load(source=f"s3://{lake.bucket}-missing/olist/")
    assert not report.ok
    for table in report.tables:
        assert table.status == "failed"
        assert f"S3 bucket '{lake.bucket}-missing' does not exist" in table.error
    assert lake.load_ids("orders") == {first.load_id}
    assert lake.query("select count(*) from raw_olist.orders") == [(4,)]


def test_key_not_found(lake: Lake) -> None:
    first = lake.load()
    lake.s3.client().delete_object(Bucket=lake.bucket, Key=PREFIX + "olist_orders_dataset.csv")
    report = lake.load(force=True)
    failed = result(report, "orders")
    assert failed.status == "failed"
    assert "missing file for table orders: expected olist_orders_dataset.csv" in failed.error
    assert lake.uri in failed.error
    assert lake.load_ids("orders") == {first.load_id}


def test_object_vanishing_after_listing(lake: Lake, monkeypatch: pytest.MonkeyPatch) -> None:
    first = lake.load()
    from olist_elt.load.sources import S3Source

    listed = S3Source.list_files

    def list_then_delete(self: S3Source) -> list:  # type: ignore[type-arg]
        files = listed(self)
        self.client.delete_object(Bucket=lake.bucket, Key=PREFIX + "olist_orders_dataset.csv")
        return files

    monkeypatch.setattr(S3Source, "list_files", list_then_delete)
    report = lake.load(force=True)
    failed = result(report, "orders")
    assert failed.status == "failed"
    assert f"reading {lake.uri}olist_orders_dataset.csv: S3 object not found" in failed.error
    assert lake.load_ids("orders") == {first.load_id}


def _act_as(monkeypatch: pytest.MonkeyPatch, credentials: dict[str, str]) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", credentials["aws_access_key_id"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", credentials["aws_secret_access_key"])


def test_access_denied_reading_objects(lake: Lake, monkeypatch: pytest.MonkeyPatch) -> None:
    first = lake.load()
    list_only = lake.s3.iam_user_credentials(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "*"}],
        }
    )
    _act_as(monkeypatch, list_only)
    with lake.s3.enforce_iam():
        report = lake.load(force=True)
    assert not report.ok
    failed = result(report, "orders")
    assert failed.status == "failed"
    assert f"reading {lake.uri}olist_orders_dataset.csv: access denied by S3" in failed.error
    assert "s3:GetObject" in failed.error
    assert lake.load_ids("orders") == {first.load_id}
    assert lake.query("select count(*) from raw_olist.orders") == [(4,)]


def test_access_denied_listing(lake: Lake, monkeypatch: pytest.MonkeyPatch) -> None:
    first = lake.load()
    nothing = lake.s3.iam_user_credentials(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}],
        }
    )
    _act_as(monkeypatch, nothing)
    with lake.s3.enforce_iam():
        report = lake.load()
    assert {t.status for t in report.tables} == {"failed"}
    assert "access denied by S3; the credentials need s3:ListBucket" in report.tables[0].error
    assert lake.uri in report.tables[0].error
    assert lake.load_ids("orders") == {first.load_id}
