"""olist load --drops: daily drops appended to the raw tables, once, in any order.

Drops come from olist replay on generated scale-0.01 data. Row counts are checked
against the drop files themselves (CSV-aware count with the csv module).
"""

from __future__ import annotations

import csv
import gzip
import re
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pytest

from dbt_cli import PROJECT_ROOT, run_dbt
from dbt_cli import write_profiles as write_dbt_profiles
from loader_files import write_profiles
from olist_elt.cli import main
from olist_elt.daily.drop_load import load_drops
from olist_elt.daily.drops import folder_name
from olist_elt.daily.replay import ReplayResult, replay
from olist_elt.dev import postgres as devserver
from olist_elt.errors import SourceError
from olist_elt.generate.dataset import generate
from olist_elt.load.loader import LoadReport, load
from olist_elt.spec import LINEAGE_COLUMNS, OLIST_FILES, by_table
from pg_server import query
from s3_server import S3Server

ROLE = "arn:aws:iam::123456789012:role/olist-copy"


@dataclass(frozen=True)
class Replayed:
    source: Path  # the nine generated files
    root: Path  # their drops
    result: ReplayResult

    @property
    def days(self) -> tuple[date, ...]:
        return self.result.days

    def copy_drops(self, root: Path, days: Sequence[date]) -> Path:
        """A root holding only these drops (copies)."""
        root.mkdir(parents=True, exist_ok=True)
        for day in days:
            shutil.copytree(self.root / folder_name(day), root / folder_name(day))
        return root

    def rows(self, days: Sequence[date]) -> dict[str, int]:
        """Data rows per table over these drops."""
        counts = {spec.table: 0 for spec in OLIST_FILES}
        for day in days:
            for path in (self.root / folder_name(day)).iterdir():
                spec = next(s for s in OLIST_FILES if path.name.startswith(s.file_name))
                with path.open(encoding="utf-8", newline="") as handle:
                    counts[spec.table] += sum(1 for _ in csv.reader(handle)) - 1
        return counts


@pytest.fixture(scope="module")
def replayed(tmp_path_factory: pytest.TempPathFactory) -> Replayed:
    source = tmp_path_factory.mktemp("drops_source")
    generate(source, scale=0.01, seed=42)
    root = tmp_path_factory.mktemp("drops_root")
    return Replayed(source, root, replay(source, root))


def order_with_versions(replayed: Replayed, count: int) -> tuple[str, list[tuple[date, str]]]:
    """An order with ``count`` versions, each with another status: (order_id, [(day, status)])."""
    versions: dict[str, list[tuple[date, str]]] = {}
    for day in replayed.days:
        path = replayed.root / folder_name(day) / "olist_orders_dataset.csv"
        if path.exists():
            with path.open(encoding="utf-8", newline="") as handle:
                for row in csv.DictReader(handle):
                    versions.setdefault(row["order_id"], []).append((day, row["order_status"]))
    order_id, found = next(
        (o, v)
        for o, v in sorted(versions.items())
        if len(v) == count and len({status for _, status in v}) == count
    )
    return order_id, found


class DuckDBWarehouse:
    def __init__(self, tmp_path: Path) -> None:
        self.database = tmp_path / "wh" / "olist.duckdb"
        self.profiles = write_profiles(tmp_path / "profiles", duckdb_path=self.database)

    def load_drops(self, root: Path | str, *args: Any, **options: Any) -> list[LoadReport]:
        return load_drops(str(root), *args, profiles_dir=str(self.profiles), **options)

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        with duckdb.connect(str(self.database), read_only=True) as connection:
            return connection.execute(sql).fetchall()

    def counts(self) -> dict[str, int]:
        """Rows per raw table (0 for a table no drop has created yet)."""
        tables = {
            name
            for (name,) in self.query(
                "select table_name from information_schema.tables where table_schema = 'raw_olist'"
            )
        }
        return {
            spec.table: self.query(f"select count(*) from raw_olist.{spec.table}")[0][0]
            if spec.table in tables
            else 0
            for spec in OLIST_FILES
        }


@pytest.fixture
def warehouse(tmp_path: Path) -> DuckDBWarehouse:
    return DuckDBWarehouse(tmp_path)


def statuses(reports: list[LoadReport]) -> dict[tuple[date | None, str], str]:
    return {(r.ingest_date, t.table): t.status for r in reports for t in r.tables}


def test_five_days_then_one_again_changes_nothing(
    replayed: Replayed, warehouse: DuckDBWarehouse
) -> None:
    days = list(replayed.days[:5])
    reports = warehouse.load_drops(replayed.root, days)
    assert [r.ingest_date for r in reports] == days
    assert all(r.ok for r in reports), [t.error for r in reports for t in r.tables]
    expected = replayed.rows(days)
    assert warehouse.counts() == expected
    assert len({r.load_id for r in reports}) == 5
    # Each row carries its drop's day and its drop's load id.
    lineage = warehouse.query(
        "select distinct _ingest_date, _load_id from raw_olist.orders order by 1"
    )
    by_day = {r.ingest_date: r.load_id for r in reports}
    assert lineage == [(d, by_day[d]) for d in days if replayed.rows([d])["orders"]]

    again = warehouse.load_drops(replayed.root, [days[2]])
    assert set(statuses(again).values()) == {"skipped"}
    assert warehouse.counts() == expected
    # Even forced, a drop replaces its own day: no duplicate.
    forced = warehouse.load_drops(replayed.root, [days[2]], force=True)
    assert set(statuses(forced).values()) == {"loaded"}
    assert warehouse.counts() == expected
    audit = warehouse.query(
        "select ingest_date, status, count(*) from raw_olist._load_runs group by 1, 2 order by 1, 2"
    )
    files_on_day3 = len(list((replayed.root / folder_name(days[2])).iterdir()))
    assert (days[2], "skipped", files_on_day3) in audit
    assert (days[2], "loaded", 2 * files_on_day3) in audit


@pytest.mark.slow
def test_late_drop_is_appended_and_staging_keeps_the_latest_day(
    replayed: Replayed, warehouse: DuckDBWarehouse, tmp_path: Path
) -> None:
    order_id, versions = order_with_versions(replayed, 3)
    (day1, _), (day2, _), (day3, status3) = versions
    root = replayed.copy_drops(tmp_path / "root", [day1, day3])
    assert all(r.ok for r in warehouse.load_drops(root, pending=True))
    # The drop of the middle day arrives late, after the last one.
    replayed.copy_drops(root, [day2])
    late = warehouse.load_drops(root, pending=True)
    assert [r.ingest_date for r in late] == [day2]
    raw = warehouse.query(
        "select _ingest_date, order_status, _loaded_at from raw_olist.orders "
        f"where order_id = '{order_id}' order by _ingest_date"
    )
    assert [(d, s) for d, s, _ in raw] == [(d, s) for d, s in versions]
    assert raw[1][2] > raw[2][2]  # loaded last, yet not the latest version

    profiles = write_dbt_profiles(tmp_path / "dbt_profiles", warehouse.database)
    run_dbt(
        "run",
        "--select",
        "stg_olist__orders",
        project_dir=PROJECT_ROOT,
        profiles_dir=profiles,
        target_path=tmp_path / "target",
        env={"DBT_LOG_PATH": str(tmp_path / "logs"), "OLIST_RAW_SCHEMA": "raw_olist"},
    ).check()
    staged = warehouse.query(
        "select order_status, _ingest_date from analytics_staging.stg_olist__orders "
        f"where order_id = '{order_id}'"
    )
    assert staged == [(status3, day3)]


def test_pending_loads_every_missing_drop_in_date_order(
    replayed: Replayed, warehouse: DuckDBWarehouse, tmp_path: Path
) -> None:
    days = replayed.days
    root = replayed.copy_drops(tmp_path / "root", [days[1], days[3], days[4]])
    first = warehouse.load_drops(root, pending=True)
    assert [r.ingest_date for r in first] == [days[1], days[3], days[4]]
    assert warehouse.load_drops(root, pending=True) == []
    replayed.copy_drops(root, [days[6], days[0], days[5]])  # late and new ones
    second = warehouse.load_drops(root, pending=True)
    assert [r.ingest_date for r in second] == [days[0], days[5], days[6]]
    assert set(statuses(second).values()) == {"loaded"}
    assert warehouse.counts() == replayed.rows(days[:7][:2] + days[3:7])
    # --from/--to narrows pending.
    replayed.copy_drops(root, [days[2], days[7]])
    ranged = warehouse.load_drops(root, pending=True, date_from=days[7], date_to=days[7])
    assert [r.ingest_date for r in ranged] == [days[7]]


def test_corrected_drop_replaces_its_day(
    replayed: Replayed, warehouse: DuckDBWarehouse, tmp_path: Path
) -> None:
    day = next(d for d in replayed.days[1:] if replayed.rows([d])["orders"] >= 2)
    root = replayed.copy_drops(tmp_path / "root", [day])
    assert warehouse.load_drops(root, [day])[0].ok
    path = root / folder_name(day) / "olist_orders_dataset.csv"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    path.write_text("".join(lines[:2]), encoding="utf-8")  # the header and one order
    report = warehouse.load_drops(root, pending=True)
    assert statuses(report) == {(day, "orders"): "loaded"}
    assert warehouse.query(
        f"select count(*) from raw_olist.orders where _ingest_date = '{day}'"
    ) == [(1,)]


def test_full_load_replaces_drops_and_pending_brings_them_back(
    replayed: Replayed, warehouse: DuckDBWarehouse, tmp_path: Path
) -> None:
    days = list(replayed.days[:3])
    root = replayed.copy_drops(tmp_path / "root", days)
    warehouse.load_drops(root, pending=True)
    full = load(str(replayed.source), target="duckdb", profiles_dir=str(warehouse.profiles))
    assert full.ok
    total = {
        spec.table: n for spec in OLIST_FILES for n in [replayed.rows(replayed.days)[spec.table]]
    }
    assert warehouse.query(
        "select count(*) from raw_olist.orders where _ingest_date is not null"
    ) == [(0,)]
    # The full load removed the drops' rows: the audit no longer counts them as loaded.
    again = warehouse.load_drops(root, pending=True)
    assert [r.ingest_date for r in again] == days
    assert warehouse.query(
        "select count(*) from raw_olist.orders where _ingest_date is not null"
    ) == [(replayed.rows(days)["orders"],)]
    assert total["orders"] > replayed.rows(days)["orders"]
    # A full load again, of unchanged files: reloads the tables drops were appended to since.
    reload = load(str(replayed.source), target="duckdb", profiles_dir=str(warehouse.profiles))
    appended = {table for table, n in replayed.rows(days).items() if n}
    assert {t.table for t in reload.tables if t.status == "loaded"} == appended
    assert {t.table for t in reload.tables if t.status == "skipped"} == (
        {spec.table for spec in OLIST_FILES} - appended
    )


def test_tables_from_before_drops_get_the_column(
    replayed: Replayed, warehouse: DuckDBWarehouse
) -> None:
    """A warehouse loaded by an earlier version: no ingest_date in the audit or raw tables."""
    warehouse.database.parent.mkdir(parents=True)
    with duckdb.connect(str(warehouse.database)) as connection:
        connection.execute("create schema raw_olist")
        connection.execute(
            "create table raw_olist._load_runs (load_id varchar(64) not null, "
            "table_name varchar(128) not null, source_uri varchar(2048), source_bytes bigint, "
            "source_checksum varchar(128), source_modified_at timestamp, rows_read bigint, "
            "rows_loaded bigint, started_at timestamp not null, finished_at timestamp, "
            "status varchar(16) not null, error varchar(4096))"
        )
        columns = ", ".join(f"{c} varchar" for c in by_table("sellers").column_names)
        connection.execute(
            f"create table raw_olist.sellers ({columns}, _source_file varchar, "
            "_loaded_at timestamp, _load_id varchar)"
        )
        connection.execute(
            "insert into raw_olist.sellers values ('s0', '01001', 'x', 'SP', 'f', now(), 'old')"
        )
    first = replayed.days[0]
    reports = warehouse.load_drops(replayed.root, [first], tables=["sellers"])
    assert reports[0].ok, reports[0].tables[0].error
    rows = warehouse.query(
        "select _ingest_date, count(*) from raw_olist.sellers group by 1 order by 1 nulls first"
    )
    assert rows == [(None, 1), (first, replayed.rows([first])["sellers"])]
    assert warehouse.query(
        "select count(*) from raw_olist._load_runs where ingest_date is not null"
    ) == [(1,)]


def test_a_bad_file_fails_its_table_only(
    replayed: Replayed, warehouse: DuckDBWarehouse, tmp_path: Path
) -> None:
    day = next(d for d in replayed.days[1:] if replayed.rows([d])["order_items"])
    root = replayed.copy_drops(tmp_path / "root", [day])
    folder = root / folder_name(day)
    header = ",".join(by_table("orders").column_names) + "\n"
    (folder / "olist_orders_dataset.csv").write_text(header, encoding="utf-8")
    (report,) = warehouse.load_drops(root, [day])
    assert not report.ok
    failed = {t.table: t.error for t in report.tables if t.status == "failed"}
    assert list(failed) == ["orders"]
    assert "no data rows" in failed["orders"]
    assert warehouse.counts()["orders"] == 0
    loaded = {t.table for t in report.tables if t.status == "loaded"}
    in_drop = {s.table for s in OLIST_FILES if (folder / s.file_name).exists()}
    assert loaded == in_drop - {"orders"} and loaded
    # Fixed, the next pending run loads just that table.
    shutil.copy(replayed.root / folder_name(day) / "olist_orders_dataset.csv", folder)
    assert statuses(warehouse.load_drops(root, pending=True)) == {(day, "orders"): "loaded"}


def test_drop_folders_are_checked(
    replayed: Replayed, warehouse: DuckDBWarehouse, tmp_path: Path
) -> None:
    root = replayed.copy_drops(tmp_path / "root", [replayed.days[1]])
    with pytest.raises(SourceError, match="no drop for 2001-01-01"):
        warehouse.load_drops(root, [date(2001, 1, 1)])
    (root / "ingest_date=2017-13-01").mkdir()
    with pytest.raises(SourceError, match="not a drop folder name"):
        warehouse.load_drops(root, pending=True)
    shutil.rmtree(root / "ingest_date=2017-13-01")
    (root / "ingest_date=2017-01-01").mkdir()  # a drop with none of the nine files
    (report,) = warehouse.load_drops(root, [date(2017, 1, 1)])
    assert not report.ok and len(report.tables) == 9
    assert all("missing file" in (t.error or "") for t in report.tables)


def test_cli(
    replayed: Replayed, warehouse: DuckDBWarehouse, capsys: pytest.CaptureFixture[str]
) -> None:
    base = ["--drops", str(replayed.root), "--profiles-dir", str(warehouse.profiles)]
    day = str(replayed.days[1])
    assert main(["load", *base, "--date", day]) == 0
    out = capsys.readouterr().out
    assert f"drop {day}" in out and "1 drops" in out
    assert main(["load", *base, "--from", day, "--to", day]) == 0
    assert "skipped" in capsys.readouterr().out
    assert main(["load", *base, "--date", "2001-01-01"]) == 1
    assert "no drop for 2001-01-01" in capsys.readouterr().err
    for wrong in (
        [*base],  # no way to pick the days
        [*base, "--date", day, "--pending"],
        [str(replayed.source), *base[2:], "--pending"],  # --pending without --drops
        [*base, "--from", "2018-01-02", "--to", "2018-01-01"],
        [*base, "--date", "2018-1-2"],
    ):
        assert main(["load", *wrong]) == 2, wrong
        assert len(capsys.readouterr().err.splitlines()) == 1, wrong  # one line, no usage


def test_s3_drops(replayed: Replayed, warehouse: DuckDBWarehouse, s3_env: S3Server) -> None:
    bucket = s3_env.new_bucket()
    days = list(replayed.days[1:4])
    replay(replayed.source, f"s3://{bucket}/drops/", date_from=days[0], date_to=days[-1], gzip=True)
    root = f"s3://{bucket}/drops/"
    reports = warehouse.load_drops(root, pending=True)
    assert [r.ingest_date for r in reports] == days
    assert all(r.ok for r in reports), [t.error for r in reports for t in r.tables]
    assert warehouse.counts() == replayed.rows(days)
    sources = warehouse.query("select distinct _source_file from raw_olist.orders order by 1")
    assert all(
        re.fullmatch(rf"s3://{bucket}/drops/ingest_date=[\d-]+/olist_orders_dataset\.csv\.gz", s)
        for (s,) in sources
    )
    assert warehouse.load_drops(root, pending=True) == []  # ETags match: nothing downloaded


# --- PostgreSQL ----------------------------------------------------------------------------


def test_postgres_drops(
    replayed: Replayed, pg_env: devserver.PgServer, pg_database: str, tmp_path: Path
) -> None:
    dsn = pg_env.dsn(pg_database)
    profiles = write_profiles(tmp_path / "profiles")
    order_id, versions = order_with_versions(replayed, 3)
    (day1, _), (day2, _), (day3, status3) = versions
    root = replayed.copy_drops(tmp_path / "root", [day1, day3])

    def run(**options: Any) -> list[LoadReport]:
        reports = load_drops(str(root), target="postgres", profiles_dir=str(profiles), **options)
        assert all(r.ok for r in reports), [t.error for r in reports for t in r.tables]
        return reports

    def counts() -> dict[str, int]:
        counts = {}
        for spec in OLIST_FILES:
            (exists,) = query(dsn, f"select to_regclass('raw_olist.{spec.table}') is not null")
            sql = f"select count(*) from raw_olist.{spec.table}"
            counts[spec.table] = query(dsn, sql)[0][0] if exists[0] else 0
        return counts

    assert [r.ingest_date for r in run(pending=True)] == [day1, day3]
    replayed.copy_drops(root, [day2])
    assert [r.ingest_date for r in run(pending=True)] == [day2]
    expected = replayed.rows([day1, day2, day3])
    assert counts() == expected
    assert set(statuses(run(dates=[day2])).values()) == {"skipped"}
    assert counts() == expected
    raw = query(
        dsn,
        "select _ingest_date, order_status from raw_olist.orders "
        f"where order_id = '{order_id}' order by _ingest_date desc limit 1",
    )
    assert raw == [(day3, status3)]
    columns = query(
        dsn,
        "select column_name, data_type from information_schema.columns "
        "where table_schema = 'raw_olist' and table_name = 'orders' order by ordinal_position",
    )
    assert [c for c, _ in columns[-4:]] == list(LINEAGE_COLUMNS)
    assert columns[-1] == ("_ingest_date", "date")
    # No lineage default is left behind on the table.
    assert query(
        dsn,
        "select count(*) from information_schema.columns where table_schema = 'raw_olist' "
        "and column_default is not null",
    ) == [(0,)]


# --- Redshift (dry run) -------------------------------------------------------------------


def test_redshift_drop_plan(
    replayed: Replayed, s3_env: S3Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OLIST_REDSHIFT_HOST", "cluster.invalid")
    monkeypatch.setenv("OLIST_REDSHIFT_USER", "loader")
    monkeypatch.setenv("OLIST_REDSHIFT_PASSWORD", "secret")
    profiles = write_profiles(tmp_path / "profiles")
    bucket = s3_env.new_bucket()
    day = replayed.days[1]
    s3_env.upload_folder(replayed.root / folder_name(day), bucket, f"drops/{folder_name(day)}/")
    (report,) = load_drops(
        f"s3://{bucket}/drops/", [day], target="redshift", profiles_dir=str(profiles),
        dry_run=True, tables=["orders"], iam_role_arn=ROLE, region="eu-west-1",
    )  # fmt: skip
    assert [t.status for t in report.tables] == ["planned"]
    statements = report.statements
    start = statements.index("begin")
    uri = f"s3://{bucket}/drops/{folder_name(day)}/olist_orders_dataset.csv"
    columns = ", ".join([*by_table("orders").column_names, *LINEAGE_COLUMNS])
    assert statements[start - 1].startswith("create table if not exists raw_olist.orders (")
    assert "    _ingest_date date\n)" in statements[start - 1]
    steps = statements[start:]
    assert steps[1] == "drop table if exists raw_olist.orders__loading"
    assert f"    _ingest_date date default cast('{day}' as date)\n)" in steps[2]
    assert steps[3].startswith("copy raw_olist.orders__loading (order_id,")
    assert f"from '{uri}'" in steps[3]
    assert steps[4:8] == [
        "select pg_last_copy_count()",
        f"delete from raw_olist.orders where _ingest_date = cast('{day}' as date)",
        f"insert into raw_olist.orders ({columns})\n"
        f"select {columns}\nfrom raw_olist.orders__loading",
        "drop table raw_olist.orders__loading",
    ]
    assert steps[8].startswith("insert into raw_olist._load_runs")
    assert f"cast('{day}' as date)" in steps[8]
    assert steps[9] == "commit"


def test_gzip_drop_reads_like_plain(
    replayed: Replayed, warehouse: DuckDBWarehouse, tmp_path: Path
) -> None:
    day = replayed.days[2]
    root = replayed.copy_drops(tmp_path / "root", [day])
    for path in list((root / folder_name(day)).iterdir()):
        path.with_name(path.name + ".gz").write_bytes(gzip.compress(path.read_bytes()))
        path.unlink()
    reports = warehouse.load_drops(root, [day])
    assert reports[0].ok
    assert warehouse.counts() == replayed.rows([day])
