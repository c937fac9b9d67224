"""--dry-run: the SQL each target would run, printed without connecting."""

from __future__ import annotations

import gzip
import re
from pathlib import Path

import pytest

from loader_files import rows_for, to_csv, write_profiles, write_set, write_table
from olist_elt.cli import main
from olist_elt.errors import ConfigError
from olist_elt.load.loader import LoadReport, load
from olist_elt.spec import by_table
from s3_server import S3Server

ROLE = "arn:aws:iam::123456789012:role/olist-copy"
TIMESTAMP = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d{1,6})?"


@pytest.fixture
def profiles(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    # Nothing listens there: a dry run must not even try.
    monkeypatch.setenv("OLIST_PG_HOST", "127.0.0.1")
    monkeypatch.setenv("OLIST_PG_PORT", "9")
    monkeypatch.setenv("OLIST_REDSHIFT_HOST", "cluster.invalid")
    monkeypatch.setenv("OLIST_REDSHIFT_USER", "loader")
    monkeypatch.setenv("OLIST_REDSHIFT_PASSWORD", "secret")
    return write_profiles(tmp_path / "profiles", duckdb_path=tmp_path / "never.duckdb")


def plan(source: str, target: str, profiles: Path, **options: object) -> LoadReport:
    report = load(source, target=target, profiles_dir=str(profiles), dry_run=True, **options)
    assert report.ok, [t.error for t in report.tables]
    assert {t.status for t in report.tables} == {"planned"}
    return report


def test_duckdb_plan(tmp_path: Path, profiles: Path) -> None:
    write_set(tmp_path / "src")
    report = plan(str(tmp_path / "src"), "duckdb", profiles)
    assert not (tmp_path / "never.duckdb").exists()
    statements = report.statements
    assert statements[0] == "create schema if not exists raw_olist"
    assert statements[1].startswith("create table if not exists raw_olist._load_runs (")
    create = next(s for s in statements if s.startswith("create or replace table raw_olist.orders"))
    path = tmp_path / "src" / "olist_orders_dataset.csv"
    assert f"from read_csv('{path}', header = true, auto_detect = false" in create
    assert "strict_mode = true" in create
    assert "'order_id': 'varchar'" in create
    assert f"'{path}' as _source_file" in create
    assert f"'{report.load_id}' as _load_id" in create
    # Per table: begin, load, audit row, commit.
    assert statements.count("begin") == statements.count("commit") == 9
    assert sum(s.startswith("insert into raw_olist._load_runs") for s in statements) == 9


def test_postgres_plan(tmp_path: Path, profiles: Path) -> None:
    write_set(tmp_path / "src")
    report = plan(str(tmp_path / "src"), "postgres", profiles, schema="landing")
    statements = report.statements
    start = statements.index("truncate table landing.sellers") - 3
    sellers = statements[start : start + 11]
    path = tmp_path / "src" / "olist_sellers_dataset.csv"
    assert sellers[0] == "begin"
    assert sellers[1].startswith("select attname::text")
    assert sellers[2].startswith(
        "create table if not exists landing.sellers (\n    seller_id text,"
    )
    assert re.fullmatch(
        re.escape(
            f"alter table landing.sellers\n    alter column _source_file set default '{path}',\n"
        )
        + rf"    alter column _loaded_at set default cast\('{TIMESTAMP}' as timestamp\),\n"
        + re.escape(f"    alter column _load_id set default '{report.load_id}',\n")
        + re.escape("    alter column _ingest_date set default cast(null as date)"),
        sellers[4],
    )
    assert sellers[5] == (
        "copy landing.sellers (seller_id, seller_zip_code_prefix, seller_city, seller_state) "
        "from stdin with (format csv, header true, encoding 'UTF8', force_null (seller_id, "
        "seller_zip_code_prefix, seller_city, seller_state))"
    )
    assert sellers[6].startswith(
        "alter table landing.sellers\n    alter column _source_file drop default"
    )
    assert sellers[7] == "set local default_statistics_target = 10"
    assert sellers[8] == "analyze landing.sellers (seller_id, _ingest_date)"
    assert sellers[9].startswith("insert into landing._load_runs")
    assert sellers[10] == "commit"


def _put(s3: S3Server, bucket: str, key: str, data: bytes) -> None:
    s3.client().put_object(Bucket=bucket, Key=key, Body=data)


@pytest.fixture
def redshift_bucket(s3_env: S3Server) -> str:
    bucket = s3_env.new_bucket()
    sellers, customers, orders = by_table("sellers"), by_table("customers"), by_table("orders")
    _put(
        s3_env,
        bucket,
        "drop/olist_sellers_dataset.csv",
        to_csv(sellers.column_names, rows_for(sellers, 2)),
    )
    _put(
        s3_env, bucket, "drop/olist_customers_dataset.csv.gz",
        gzip.compress(to_csv(customers.column_names, rows_for(customers, 2))),
    )  # fmt: skip
    for part in (1, 2):
        _put(
            s3_env, bucket, f"drop/olist_orders_dataset_part{part}.csv",
            to_csv(orders.column_names, rows_for(orders, 2, tag=f"p{part}")),
        )  # fmt: skip
    return bucket


def redshift_plan(bucket: str, profiles: Path, tables: list[str]) -> LoadReport:
    return plan(
        f"s3://{bucket}/drop/", "redshift", profiles,
        tables=tables, iam_role_arn=ROLE, region="eu-west-1",
    )  # fmt: skip


def test_redshift_copy_plain_csv(redshift_bucket: str, profiles: Path) -> None:
    report = redshift_plan(redshift_bucket, profiles, ["sellers"])
    # create schema, create the audit table, look for its ingest_date column (added later)
    assert report.statements[2].startswith("select count(*) from information_schema.columns")
    statements = report.statements[3:]
    assert statements[:2] == ["begin", "drop table if exists raw_olist.sellers__loading"]
    assert re.fullmatch(
        re.escape(
            "create table raw_olist.sellers__loading (\n"
            "    seller_id varchar(65535),\n"
            "    seller_zip_code_prefix varchar(65535),\n"
            "    seller_city varchar(65535),\n"
            "    seller_state varchar(65535),\n"
            "    _source_file varchar(2048) default "
            f"'s3://{redshift_bucket}/drop/olist_sellers_dataset.csv',\n"
        )
        + rf"    _loaded_at timestamp default cast\('{TIMESTAMP}' as timestamp\),\n"
        + re.escape(f"    _load_id varchar(64) default '{report.load_id}',\n")
        + re.escape("    _ingest_date date default cast(null as date)\n)"),
        statements[2],
    )
    assert statements[3] == (
        "copy raw_olist.sellers__loading "
        "(seller_id, seller_zip_code_prefix, seller_city, seller_state)\n"
        f"from 's3://{redshift_bucket}/drop/olist_sellers_dataset.csv'\n"
        f"iam_role '{ROLE}'\n"
        "region 'eu-west-1'\n"
        "format csv\n"
        "ignoreheader 1\n"
        "timeformat 'auto'\n"
        "emptyasnull"
    )
    # The old table's grants are read (and, in a real run, granted on the new one) first.
    assert statements[5].startswith("select privilege_type, identity_type, identity_name\n")
    assert statements[4:9] == [
        "select pg_last_copy_count()",
        statements[5],
        "drop table if exists raw_olist.sellers",
        "alter table raw_olist.sellers__loading rename to sellers",
        statements[8],
    ]
    assert statements[8].startswith("insert into raw_olist._load_runs")
    assert statements[9] == "commit"


def test_redshift_copy_gzip(redshift_bucket: str, profiles: Path) -> None:
    report = redshift_plan(redshift_bucket, profiles, ["customers"])
    copy = next(s for s in report.statements if s.startswith("copy "))
    assert copy == (
        "copy raw_olist.customers__loading (customer_id, customer_unique_id, "
        "customer_zip_code_prefix, customer_city, customer_state)\n"
        f"from 's3://{redshift_bucket}/drop/olist_customers_dataset.csv.gz'\n"
        f"iam_role '{ROLE}'\n"
        "region 'eu-west-1'\n"
        "format csv\n"
        "ignoreheader 1\n"
        "gzip\n"
        "timeformat 'auto'\n"
        "emptyasnull"
    )


def test_redshift_copy_parts_through_a_manifest(
    redshift_bucket: str, profiles: Path, s3_env: S3Server
) -> None:
    report = redshift_plan(redshift_bucket, profiles, ["orders"])
    manifest = f"s3://{redshift_bucket}/drop/_manifests/{report.load_id}/orders.manifest"
    copy = next(s for s in report.statements if s.startswith("copy "))
    assert copy == (
        "copy raw_olist.orders__loading (order_id, customer_id, order_status, "
        "order_purchase_timestamp, order_approved_at, order_delivered_carrier_date, "
        "order_delivered_customer_date, order_estimated_delivery_date)\n"
        f"from '{manifest}'\n"
        f"iam_role '{ROLE}'\n"
        "region 'eu-west-1'\n"
        "manifest\n"
        "format csv\n"
        "ignoreheader 1\n"
        "timeformat 'auto'\n"
        "emptyasnull"
    )
    create = next(s for s in report.statements if s.startswith("create table raw_olist.orders__"))
    assert f"_source_file varchar(2048) default '{manifest}'" in create
    # A dry run writes nothing, not even the manifest.
    listed = s3_env.client().list_objects_v2(Bucket=redshift_bucket, Prefix="drop/_manifests/")
    assert listed["KeyCount"] == 0


def test_redshift_needs_a_role(
    redshift_bucket: str, profiles: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OLIST_REDSHIFT_COPY_ROLE_ARN", raising=False)
    with pytest.raises(ConfigError, match="OLIST_REDSHIFT_COPY_ROLE_ARN"):
        load(
            f"s3://{redshift_bucket}/drop/",
            target="redshift",
            profiles_dir=str(profiles),
            dry_run=True,
        )
    monkeypatch.setenv("OLIST_REDSHIFT_COPY_ROLE_ARN", ROLE)
    report = load(
        f"s3://{redshift_bucket}/drop/", target="redshift", profiles_dir=str(profiles),
        dry_run=True, tables=["sellers"],
    )  # fmt: skip
    assert f"iam_role '{ROLE}'" in next(s for s in report.statements if s.startswith("copy "))


def test_redshift_refuses_a_local_source(tmp_path: Path, profiles: Path) -> None:
    write_table(tmp_path, "sellers")
    report = load(
        str(tmp_path), target="redshift", profiles_dir=str(profiles), dry_run=True,
        tables=["sellers"], iam_role_arn=ROLE, region="eu-west-1",
    )  # fmt: skip
    assert not report.ok
    assert "pass an s3://bucket/prefix/ source" in report.tables[0].error


def test_cli_dry_run_prints_the_statements(
    tmp_path: Path, profiles: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_set(tmp_path / "src")
    code = main(
        [
            "load",
            str(tmp_path / "src"),
            "--target",
            "postgres",
            "--profiles-dir",
            str(profiles),
            "--dry-run",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert "truncate table raw_olist.orders;\n" in out
    assert out.count("\ncommit;\n") == 9
