"""`--schema` reaches dbt: the marts are built from the raw schema the command loaded.

Each warehouse first gets other generated files in raw_olist (the default), and
OLIST_RAW_SCHEMA says raw_olist too: a dbt that read its sources from anywhere but the
`--schema` given would build marts with raw_olist's row counts, or fail.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import pytest

from dbt_cli import write_profiles
from olist_elt.cli import main
from olist_elt.daily.replay import replay
from olist_elt.dev import postgres as devserver
from olist_elt.generate.dataset import generate
from olist_elt.load.loader import load
from olist_elt.settings import Settings
from olist_elt.spec import DEFAULT_RAW_SCHEMA, OLIST_FILES
from pg_server import query as pg_query

pytestmark = pytest.mark.slow

PROJECT_ROOT = Path(__file__).resolve().parents[2]
OTHER = "other_raw"
Query = Callable[[str], list[tuple[Any, ...]]]


@pytest.fixture(scope="module")
def datasets(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Two generated sets of different sizes: (for raw_olist, for the other schema)."""
    root = tmp_path_factory.mktemp("raw_schema_data")
    generate(root / "default", scale=0.005, seed=3)
    generate(root / "other", scale=0.01, seed=42)
    return root / "default", root / "other"


@pytest.fixture
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """dbt's target and log folders in tmp_path; the environment names the default schema."""
    monkeypatch.setenv("DBT_TARGET_PATH", str(tmp_path / "target"))
    monkeypatch.setenv("DBT_LOG_PATH", str(tmp_path / "logs"))
    monkeypatch.setenv("OLIST_RAW_SCHEMA", DEFAULT_RAW_SCHEMA)
    monkeypatch.delenv("OLIST_TARGET", raising=False)
    profiles = tmp_path / "profiles"
    profiles.mkdir()
    shutil.copyfile(PROJECT_ROOT / "profiles.yml.example", profiles / "profiles.yml")
    monkeypatch.setenv("DBT_PROFILES_DIR", str(profiles))
    return profiles


def assert_built_from_other_schema(query: Query, default_orders: int) -> None:
    tables = {name for (name,) in query(
        f"select table_name from information_schema.tables where table_schema = '{OTHER}'"
    )}  # fmt: skip
    assert {spec.table for spec in OLIST_FILES} <= tables, tables
    # raw_olist kept the other set, as loaded before the run
    [(untouched,)] = query(f"select count(*) from {DEFAULT_RAW_SCHEMA}.orders")
    assert untouched == default_orders
    [(loaded,)] = query(f"select count(distinct order_id) from {OTHER}.orders")
    [(built,)] = query("select count(*) from analytics_marts.fct_orders")
    assert loaded != default_orders  # the check below can tell the two sets apart
    assert built == loaded, f"fct_orders has {built} rows, {OTHER}.orders {loaded} orders"


def duckdb_query(database: Path) -> Query:
    def query(sql: str) -> list[tuple[Any, ...]]:
        # read-write: dbt-duckdb keeps the file open in this process with that configuration
        with duckdb.connect(str(database)) as connection:
            return connection.execute(sql).fetchall()

    return query


@pytest.fixture
def duckdb_with_default_set(
    datasets: tuple[Path, Path], isolated: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[Path, int]:
    """A DuckDB file whose raw_olist holds the default set: (the file, its order count)."""
    database = tmp_path / "olist.duckdb"
    monkeypatch.setenv("OLIST_DUCKDB_PATH", str(database))
    first = load(str(datasets[0]), target="duckdb", profiles_dir=str(isolated))
    assert first.ok, first.summary()
    [(orders,)] = duckdb_query(database)(f"select count(*) from {DEFAULT_RAW_SCHEMA}.orders")
    return database, orders


def test_run_with_schema_builds_from_it_on_duckdb(
    datasets: tuple[Path, Path],
    duckdb_with_default_set: tuple[Path, int],
    capsys: pytest.CaptureFixture[str],
) -> None:
    other_set = datasets[1]
    database, default_orders = duckdb_with_default_set

    code = main(["run", "--target", "duckdb", "--source", str(other_set), "--schema", OTHER])
    out = capsys.readouterr().out
    assert code == 0, out
    assert f"loaded into schema {OTHER}" in out
    assert_built_from_other_schema(duckdb_query(database), default_orders)


def test_run_with_schema_builds_from_it_on_postgres(
    datasets: tuple[Path, Path],
    isolated: Path,
    pg_env: devserver.PgServer,
    pg_database: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    default_set, other_set = datasets

    def query(sql: str) -> list[tuple[Any, ...]]:
        return pg_query(pg_env.dsn(pg_database), sql)

    first = load(str(default_set), target="postgres", profiles_dir=str(isolated))
    assert first.ok, first.summary()
    [(default_orders,)] = query(f"select count(*) from {DEFAULT_RAW_SCHEMA}.orders")

    code = main(["run", "--target", "postgres", "--source", str(other_set), "--schema", OTHER])
    out = capsys.readouterr().out
    assert code == 0, out
    assert_built_from_other_schema(query, default_orders)


def test_daily_with_schema_builds_from_it(
    datasets: tuple[Path, Path],
    duckdb_with_default_set: tuple[Path, int],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    other_set = datasets[1]
    database, default_orders = duckdb_with_default_set
    drops = tmp_path / "drops"
    written = replay(other_set, drops)
    last = written.days[min(60, len(written.days) - 1)]

    code = main(
        ["daily", "--drops", str(drops), "--to", str(last), "--schema", OTHER, "--target",
         "duckdb", "--single-build", "--skip-tests"]
    )  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0, out
    assert_built_from_other_schema(duckdb_query(database), default_orders)


def test_dbt_reads_vars_over_the_environment_over_the_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The source YAML's precedence, as dbt renders it: --vars, then OLIST_RAW_SCHEMA."""
    from dbt.cli.main import dbtRunner

    profiles = write_profiles(tmp_path / "profiles", tmp_path / "unused.duckdb")
    monkeypatch.setenv("DBT_LOG_PATH", str(tmp_path / "logs"))
    monkeypatch.setenv("OLIST_RAW_SCHEMA", "from_environment")

    def source_schema(settings: Settings | None, target_path: str) -> str:
        plain = ["--project-dir", str(PROJECT_ROOT), "--profiles-dir", str(profiles)]
        result = dbtRunner().invoke(
            ["compile", "--quiet", *(settings.dbt_args() if settings else plain),
             "--target-path", str(tmp_path / target_path),
             "--inline", "select 1 from {{ source('olist', 'orders') }}"]
        )  # fmt: skip
        assert result.success, result.exception
        return result.result.results[0].node.compiled_code

    # plain dbt: the environment variable
    assert "from_environment" in source_schema(None, "plain")
    # what every olist command passes: the resolved settings, whatever the environment says
    chosen = Settings.resolve({"raw_schema": "from_option", "profiles_dir": str(profiles)})
    assert '"from_option"."orders"' in source_schema(chosen, "olist")
