"""A generated set split in gzip parts, written straight to S3 (moto), then loaded.

DuckDB and PostgreSQL load it through the loader and must hold the same rows as a load of
the unsplit files; for Redshift (no cluster here) the statements the target sends are
recorded from a scripted connection: one COPY per table through a manifest naming the
parts, with GZIP, and the manifest itself is read back from S3.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import duckdb
import psycopg2
import pytest
from sqlglot import exp

from loader_files import write_profiles
from olist_elt.cli import main
from olist_elt.dev import postgres as devserver
from olist_elt.generate.dataset import UNSPLIT, generate, generate_to
from olist_elt.load.loader import LoadReport, load
from olist_elt.load.targets.redshift import RedshiftTarget
from olist_elt.spec import OLIST_FILES, by_table
from redshift_compile import parse_redshift
from s3_server import S3Server

SCALE = 0.01
SEED = 42
PARTS = 4
PREFIX = "olist/"
ROLE = "arn:aws:iam::123456789012:role/olist-copy"
SPLIT = tuple(f for f in OLIST_FILES if f.table not in UNSPLIT)


class PartedBucket:
    """The parted gzip set in S3, and the same data set as whole files in a folder."""

    def __init__(self, s3: S3Server, tmp_path: Path) -> None:
        self.s3 = s3
        self.bucket = s3.new_bucket()
        self.uri = f"s3://{self.bucket}/{PREFIX}"
        client = s3.client()
        # Left from earlier runs: a whole file and a part of another split (both must go),
        # and objects that are not copies of the nine files (both must stay).
        self.stale = [
            f"{PREFIX}olist_orders_dataset.csv",
            f"{PREFIX}olist_orders_dataset_part7.csv.gz",
        ]
        self.kept = [f"{PREFIX}README.txt", f"{PREFIX}_manifests/old/orders.manifest"]
        for key in self.stale + self.kept:
            client.put_object(Bucket=self.bucket, Key=key, Body=b"old\n")
        self.rows = generate_to(self.uri, scale=SCALE, seed=SEED, gzip=True, parts=PARTS)
        self.whole = tmp_path / "whole"
        assert generate(self.whole, scale=SCALE, seed=SEED) == self.rows
        self.profiles = write_profiles(tmp_path / "profiles", duckdb_path=tmp_path / "w.duckdb")

    def keys(self) -> dict[str, int]:
        listed = self.s3.client().list_objects_v2(Bucket=self.bucket, Prefix=PREFIX)
        return {item["Key"]: item["Size"] for item in listed.get("Contents", [])}

    def load(self, target: str, source: str, schema: str, **options: Any) -> LoadReport:
        report = load(
            source, target=target, profiles_dir=str(self.profiles), schema=schema, **options
        )
        assert report.ok, [(t.table, t.error) for t in report.tables if t.error]
        return report


@pytest.fixture
def parted(s3_env: S3Server, tmp_path: Path) -> PartedBucket:
    return PartedBucket(s3_env, tmp_path)


def test_generate_writes_the_parts_to_s3_and_removes_other_copies(
    parted: PartedBucket, tmp_path: Path
) -> None:
    local = tmp_path / "local"
    generate(local, scale=SCALE, seed=SEED, gzip=True, parts=PARTS)
    keys = parted.keys()
    written = {PREFIX + path.name: path for path in local.iterdir()}
    assert sorted(keys) == sorted([*written, *parted.kept])
    client = parted.s3.client()
    for key, path in written.items():
        body = client.get_object(Bucket=parted.bucket, Key=key)["Body"].read()
        assert body == path.read_bytes(), f"{key}: not the bytes generated locally"


def test_generate_to_a_missing_bucket_fails_with_one_line(
    s3_env: S3Server, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = "s3://no-such-bucket-olist/olist/"
    assert main(["generate", "--scale", "0.002", "--parts", "2", "--out", out]) == 1
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert error == (
        f"olist generate: listing {out}: S3 bucket 'no-such-bucket-olist' does not exist"
    )


def same_rows(query: Any, table: str, left: str, right: str) -> None:
    """Both schemas hold the same multiset of rows (the lineage columns aside)."""
    columns = ", ".join(by_table(table).column_names)
    for a, b in ((left, right), (right, left)):
        extra = query(
            f"select count(*) from (select {columns} from {a}.{table} "
            f"except all select {columns} from {b}.{table}) as extra"
        )
        assert extra == [(0,)], f"{table}: rows in {a} and not in {b}"


def compare_loads(query: Any, parted: PartedBucket, parts_report: LoadReport) -> None:
    for spec in OLIST_FILES:
        counts = [
            query(f"select count(*) from {s}.{spec.table}")[0][0]
            for s in ("raw_whole", "raw_parts")
        ]
        assert counts == [parted.rows[spec.file_name]] * 2, f"{spec.table}: {counts}"
        same_rows(query, spec.table, "raw_whole", "raw_parts")
    uris = {t.table: t.source_uri for t in parts_report.tables}
    assert uris["orders"] == f"{parted.uri}olist_orders_dataset_part*.csv.gz"
    translation = by_table("product_category_name_translation")
    assert uris[translation.table] == f"{parted.uri}{translation.file_name}.gz"


def test_duckdb_loads_the_parts_like_the_whole_files(parted: PartedBucket, tmp_path: Path) -> None:
    parted.load("duckdb", str(parted.whole), "raw_whole")
    report = parted.load("duckdb", parted.uri, "raw_parts")
    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as connection:
        compare_loads(lambda sql: connection.execute(sql).fetchall(), parted, report)


def test_postgres_loads_the_parts_like_the_whole_files(
    parted: PartedBucket, pg_env: devserver.PgServer, pg_database: str
) -> None:
    parted.load("postgres", str(parted.whole), "raw_whole")
    report = parted.load("postgres", parted.uri, "raw_parts")
    connection = psycopg2.connect(pg_env.dsn(pg_database))
    try:
        with connection.cursor() as cursor:

            def query(sql: str) -> list[tuple[Any, ...]]:
                cursor.execute(sql)
                return cursor.fetchall()

            compare_loads(query, parted, report)
    finally:
        connection.close()


class Recorder:
    """A scripted Redshift connection: records statements, answers COPY's row count."""

    def __init__(self, rows: dict[str, int]) -> None:
        self.counts = {spec.table: rows[spec.file_name] for spec in OLIST_FILES}
        self.executed: list[str] = []
        self.autocommit = False
        self._last: list[tuple[Any, ...]] | None = None
        self._copied = ""

    def cursor(self) -> Recorder:
        return self

    @property
    def description(self) -> list[str] | None:
        return ["column"] if self._last is not None else None

    def execute(self, sql: str) -> None:
        self.executed.append(sql)
        self._last = None
        if sql.startswith("copy "):
            self._copied = sql.split()[1].removeprefix("raw_olist.").removesuffix("__loading")
        elif sql == "select pg_last_copy_count()":
            # What the cluster would count: the rows of the file(s) the manifest names.
            self._last = [(self.counts[self._copied],)]
        elif sql.startswith("select"):
            self._last = []

    def fetchall(self) -> list[tuple[Any, ...]]:
        return self._last or []

    def close(self) -> None:
        pass


def copy_words(statement: exp.Copy) -> list[str]:
    """COPY's options as words in order (sqlglot pairs a flag with the word after it)."""
    words = []
    for parameter in statement.args.get("params") or []:
        for part in (parameter.this, parameter.args.get("expression")):
            if part is not None:
                words.append(str(part.this).lower())
    return words


def test_redshift_copies_each_split_table_through_a_manifest_of_its_gzip_parts(
    parted: PartedBucket, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OLIST_REDSHIFT_HOST", "cluster.invalid")
    monkeypatch.setenv("OLIST_REDSHIFT_USER", "loader")
    monkeypatch.setenv("OLIST_REDSHIFT_PASSWORD", "secret")
    recorder = Recorder(parted.rows)
    monkeypatch.setattr(RedshiftTarget, "_connect", lambda self: recorder)
    report = parted.load("redshift", parted.uri, "raw_olist", iam_role_arn=ROLE, region="us-east-1")
    assert {t.table: t.rows_loaded for t in report.tables} == recorder.counts

    copies = {}
    for sql in recorder.executed:
        if sql.startswith("copy "):
            (statement,) = parse_redshift(sql)
            assert isinstance(statement, exp.Copy), sql
            table = statement.this.this.name.removesuffix("__loading")
            copies[table] = statement
    assert sorted(copies) == sorted(f.table for f in OLIST_FILES), "one COPY per table"

    keys = parted.keys()
    client = parted.s3.client()
    for spec in SPLIT:
        statement = copies[spec.table]
        (source,) = [f.name for f in statement.args["files"]]
        manifest_key = f"{PREFIX}_manifests/{report.load_id}/{spec.table}.manifest"
        assert source == f"s3://{parted.bucket}/{manifest_key}"
        assert copy_words(statement) == [
            "manifest", "format", "csv", "ignoreheader", "1", "gzip", "timeformat", "auto",
            "emptyasnull",
        ]  # fmt: skip
        manifest = json.loads(
            client.get_object(Bucket=parted.bucket, Key=manifest_key)["Body"].read()
        )
        part_keys = [f"{PREFIX}{spec.stem}_part{k}.csv.gz" for k in range(1, PARTS + 1)]
        assert manifest["entries"] == [
            {
                "url": f"s3://{parted.bucket}/{key}",
                "mandatory": True,
                "meta": {"content_length": keys[key]},
            }
            for key in part_keys
        ]
    translation = by_table("product_category_name_translation")
    statement = copies[translation.table]
    assert [f.name for f in statement.args["files"]] == [f"{parted.uri}{translation.file_name}.gz"]
    assert "manifest" not in copy_words(statement) and "gzip" in copy_words(statement)
