"""Redshift load steps against a scripted connection (no cluster here): swap, counts, errors."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from loader_files import rows_for, to_csv, write_profiles
from olist_elt.load.loader import LoadReport, load
from olist_elt.load.targets.redshift import RedshiftTarget
from olist_elt.spec import by_table
from redshift_compile import parse_redshift
from s3_server import S3Server

ROLE = "arn:aws:iam::123456789012:role/olist-copy"
Responder = Callable[[str], list[tuple[Any, ...]] | None]


class FakeCursor:
    def __init__(self, connection: FakeConnection) -> None:
        self.connection = connection
        self.description: list[str] | None = None
        self._rows: list[tuple[Any, ...]] = []

    def execute(self, sql: str) -> None:
        self.connection.executed.append(sql)
        rows = self.connection.respond(sql)
        self.description = ["column"] if rows is not None else None
        self._rows = rows or []

    def fetchall(self) -> list[tuple[Any, ...]]:
        return self._rows

    def close(self) -> None:
        pass


class FakeConnection:
    """Records every statement; ``respond`` returns rows or raises like the cluster would."""

    def __init__(self, respond: Responder) -> None:
        self.respond = respond
        self.executed: list[str] = []
        self.autocommit = False

    def cursor(self) -> FakeCursor:
        return FakeCursor(self)

    def close(self) -> None:
        pass


@pytest.fixture
def bucket(s3_env: S3Server) -> str:
    name = s3_env.new_bucket()
    spec = by_table("orders")
    s3_env.client().put_object(
        Bucket=name,
        Key="drop/olist_orders_dataset.csv",
        Body=to_csv(spec.column_names, rows_for(spec, 3)),
    )
    return name


@pytest.fixture
def profiles(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("OLIST_REDSHIFT_HOST", "cluster.invalid")
    monkeypatch.setenv("OLIST_REDSHIFT_USER", "loader")
    monkeypatch.setenv("OLIST_REDSHIFT_PASSWORD", "secret")
    return write_profiles(tmp_path / "profiles")


def run(
    bucket: str, profiles: Path, respond: Responder, monkeypatch: pytest.MonkeyPatch
) -> tuple[LoadReport, FakeConnection]:
    connection = FakeConnection(respond)
    monkeypatch.setattr(RedshiftTarget, "_connect", lambda self: connection)
    report = load(
        f"s3://{bucket}/drop/", target="redshift", profiles_dir=str(profiles),
        tables=["orders"], iam_role_arn=ROLE, region="us-east-1", force=True,
    )  # fmt: skip
    return report, connection


def cluster(copy_count: int = 3, copy_error: str | None = None) -> Responder:
    def respond(sql: str) -> list[tuple[Any, ...]] | None:
        if sql.startswith("copy ") and copy_error:
            raise RuntimeError(copy_error)
        if sql == "select pg_last_copy_count()":
            return [(copy_count,)]
        if "from stl_load_errors" in sql:
            return [
                (
                    "s3://b/drop/olist_orders_dataset.csv",
                    3,
                    "order_status",
                    "String length exceeds DDL length",
                    "x" * 5,
                )
            ]
        if sql.startswith("select"):
            return []
        return None

    return respond


def test_copy_into_new_table_then_swap_in_one_transaction(
    bucket: str, profiles: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    report, connection = run(bucket, profiles, cluster(copy_count=3), monkeypatch)
    assert report.ok, report.tables[0].error
    assert (report.tables[0].rows_read, report.tables[0].rows_loaded) == (3, 3)
    sql = connection.executed
    begin = sql.index("begin")
    steps = [s.split("\n")[0].split(" (")[0] for s in sql[begin:]]
    assert steps == [
        "begin",
        "drop table if exists raw_olist.orders__loading",
        "create table raw_olist.orders__loading",
        "copy raw_olist.orders__loading",
        "select pg_last_copy_count()",
        "select privilege_type, identity_type, identity_name",
        "drop table if exists raw_olist.orders",
        "alter table raw_olist.orders__loading rename to orders",
        "insert into raw_olist._load_runs",
        "commit",
    ]
    assert "'loaded'" in sql[-2]


def test_swap_grants_the_old_tables_privileges_to_the_new_one(
    bucket: str, profiles: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Drop-and-rename makes a new table: what was granted on the old one is carried over."""
    granted = [
        ("SELECT", "role", "olist_transformer"),
        ("SELECT", "group", "auditors"),
        ("SELECT", "user", "Dana"),
        ("SELECT", "public", "public"),
    ]
    base = cluster(copy_count=3)

    def respond(sql: str) -> list[tuple[Any, ...]] | None:
        if "from svv_relation_privileges" in sql:
            assert "namespace_name = 'raw_olist' and relation_name = 'orders'" in sql, sql
            return granted
        return base(sql)

    report, connection = run(bucket, profiles, respond, monkeypatch)
    assert report.ok, report.tables[0].error
    sql = connection.executed
    grants = [s for s in sql if s.startswith("grant ")]
    assert grants == [
        "grant select on raw_olist.orders__loading to role olist_transformer",
        "grant select on raw_olist.orders__loading to group auditors",
        'grant select on raw_olist.orders__loading to "Dana"',
        "grant select on raw_olist.orders__loading to public",
    ]
    # Granted inside the load's transaction, before the old table (and its grants) goes.
    drop = sql.index("drop table if exists raw_olist.orders")
    assert sql.index("begin") < min(sql.index(g) for g in grants)
    assert max(sql.index(g) for g in grants) < drop
    for statement in [*grants, next(s for s in sql if "svv_relation_privileges" in s)]:
        parse_redshift(statement)


def test_copy_failure_reports_stl_load_errors_and_keeps_the_old_table(
    bucket: str, profiles: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    report, connection = run(
        bucket, profiles,
        cluster(copy_error="Load into table 'orders__loading' failed. Check 'stl_load_errors'"),
        monkeypatch,
    )  # fmt: skip
    assert not report.ok
    error = report.tables[0].error
    assert "Redshift COPY into orders" in error
    assert "s3://b/drop/olist_orders_dataset.csv line 3, column order_status" in error
    assert "String length exceeds DDL length" in error
    sql = connection.executed
    copy_at = next(i for i, s in enumerate(sql) if s.startswith("copy "))
    assert sql[copy_at + 1] == "rollback"  # before reading stl_load_errors
    assert "where query = pg_last_copy_id()" in sql[copy_at + 2]
    assert not any(s.startswith("alter table raw_olist.orders__loading rename") for s in sql)
    assert "drop table if exists raw_olist.orders" not in sql
    assert "commit" not in sql
    assert "'failed'" in sql[-1]  # the audit row, on its own


def test_count_mismatch_rolls_back(
    bucket: str, profiles: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    report, connection = run(bucket, profiles, cluster(copy_count=2), monkeypatch)
    assert not report.ok
    assert "row count mismatch" in report.tables[0].error
    assert "3 data rows" in report.tables[0].error and "loaded 2" in report.tables[0].error
    assert "commit" not in connection.executed
    assert "rollback" in connection.executed


def test_bad_header_never_reaches_the_cluster(
    s3_env: S3Server, bucket: str, profiles: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    s3_env.client().put_object(
        Bucket=bucket, Key="drop/olist_orders_dataset.csv", Body=b"order_id;customer_id\n1;2\n"
    )
    report, connection = run(bucket, profiles, cluster(), monkeypatch)
    assert "header does not match" in report.tables[0].error
    assert not any(s.startswith("copy ") for s in connection.executed)


def test_parts_are_copied_through_a_manifest_written_to_s3(
    s3_env: S3Server, bucket: str, profiles: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = s3_env.client()
    client.delete_object(Bucket=bucket, Key="drop/olist_orders_dataset.csv")
    spec = by_table("orders")
    for part in (1, 2):
        client.put_object(
            Bucket=bucket,
            Key=f"drop/olist_orders_dataset_part{part}.csv",
            Body=to_csv(spec.column_names, rows_for(spec, 3, tag=f"p{part}")),
        )
    report, connection = run(bucket, profiles, cluster(copy_count=6), monkeypatch)
    assert report.ok, report.tables[0].error
    key = f"drop/_manifests/{report.load_id}/orders.manifest"
    manifest = json.loads(client.get_object(Bucket=bucket, Key=key)["Body"].read())
    assert [(e["url"], e["mandatory"]) for e in manifest["entries"]] == [
        (f"s3://{bucket}/drop/olist_orders_dataset_part1.csv", True),
        (f"s3://{bucket}/drop/olist_orders_dataset_part2.csv", True),
    ]
    copy = next(s for s in connection.executed if s.startswith("copy "))
    assert f"from 's3://{bucket}/{key}'\n" in copy and "\nmanifest\n" in copy
