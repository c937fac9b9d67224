"""The main job end to end on generated data: generate, load, `dbt build` (what `make run` does)."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from dbt_fixtures import GeneratedBuild
from olist_elt.cli import main
from olist_elt.generate.dataset import generate
from olist_elt.spec import OLIST_FILES

pytestmark = pytest.mark.slow

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def test_every_generated_row_is_loaded(generated_duckdb_build: GeneratedBuild) -> None:
    report = generated_duckdb_build.load_report
    assert report.ok, report.summary()
    loaded = {table.table: table.rows_loaded for table in report.tables}
    expected = {
        spec.table: generated_duckdb_build.rows_generated[spec.file_name] for spec in OLIST_FILES
    }
    assert loaded == expected
    with duckdb.connect(str(generated_duckdb_build.database)) as con:
        for spec in OLIST_FILES:
            (count,) = con.execute(f"select count(*) from raw_olist.{spec.table}").fetchone()
            assert count == expected[spec.table], spec.table


def test_dbt_build_is_green_on_generated_data(generated_duckdb_build: GeneratedBuild) -> None:
    build = generated_duckdb_build.build
    assert build.ok, build.failures
    assert build.failures == []
    # Every model of the project was built and hundreds of tests ran, none failed.
    assert build.count("model") >= 28
    assert build.count("model", "success") == build.count("model")
    assert build.count("test") >= 300
    assert build.count("test", "fail") == 0
    assert build.count("test", "error") == 0
    assert build.count("unit_test") >= 5


def test_marts_hold_the_generated_orders(generated_duckdb_build: GeneratedBuild) -> None:
    orders = generated_duckdb_build.rows_generated["olist_orders_dataset.csv"]
    items = generated_duckdb_build.rows_generated["olist_order_items_dataset.csv"]
    with duckdb.connect(str(generated_duckdb_build.database)) as con:
        (fct_orders,) = con.execute("select count(*) from analytics_marts.fct_orders").fetchone()
        (fct_items,) = con.execute(
            "select count(*) from analytics_marts.fct_order_items"
        ).fetchone()
    assert fct_orders == orders
    assert fct_items == items


def test_dbt_writes_strings_uncompressed_on_duckdb(generated_duckdb_build: GeneratedBuild) -> None:
    # macros/warehouse_storage.sql: the daily build scans whole key columns for a day's keys.
    # The checkpoint writes what the build left in the log with the setting of the open
    # database, which dbt's on-run-start hook set (dbt-duckdb's database, shared in process).
    with duckdb.connect(str(generated_duckdb_build.database)) as con:
        con.execute("checkpoint")
        stored = con.execute(
            "select distinct compression"
            " from pragma_storage_info('analytics_marts.fct_order_items')"
            " where segment_type = 'VARCHAR' and column_name = 'order_id'"
        ).fetchall()
    assert stored and {method for (method,) in stored} <= {"Uncompressed", "Constant"}, stored


def test_run_prints_rows_tests_and_next_steps(
    generated_duckdb_build: GeneratedBuild,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path,
) -> None:
    """A second `olist run` on the same files skips every table and still builds green."""
    build = generated_duckdb_build
    monkeypatch.setenv("OLIST_DUCKDB_PATH", str(build.database))
    monkeypatch.setenv("DBT_PROFILES_DIR", str(build.database.parent / "profiles"))
    monkeypatch.setenv("DBT_LOG_PATH", str(tmp_path / "logs"))
    monkeypatch.setenv("DBT_TARGET_PATH", str(tmp_path / "target"))
    exit_code = main(["run", "--target", "duckdb", "--source", str(build.data_dir)])
    out = capsys.readouterr().out
    assert exit_code == 0, out
    skipped = [line.split()[0] for line in out.splitlines() if line.endswith(" skipped")]
    assert skipped == [spec.table for spec in OLIST_FILES]
    assert "FAILED" not in out
    assert f"warehouse: {build.database}" in out
    assert "make dev SELECT=" in out


def test_switching_sources_rebuilds_the_facts_whole(
    monkeypatch: pytest.MonkeyPatch, tmp_path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A full load of other files replaces raw rows; the incremental facts must follow."""
    database = tmp_path / "olist.duckdb"
    profiles = tmp_path / "profiles"
    profiles.mkdir()
    (profiles / "profiles.yml").write_text(
        (PROJECT_ROOT / "profiles.yml.example").read_text(encoding="utf-8"), encoding="utf-8"
    )
    monkeypatch.setenv("OLIST_DUCKDB_PATH", str(database))
    monkeypatch.setenv("DBT_PROFILES_DIR", str(profiles))
    monkeypatch.setenv("DBT_LOG_PATH", str(tmp_path / "logs"))
    monkeypatch.setenv("DBT_TARGET_PATH", str(tmp_path / "target"))
    orders = {}
    for seed in (1, 2):
        folder = tmp_path / f"seed{seed}"
        rows = generate(folder, scale=0.005, seed=seed)
        orders[seed] = rows["olist_orders_dataset.csv"]
        assert main(["run", "--target", "duckdb", "--source", str(folder)]) == 0
        capsys.readouterr()
    with duckdb.connect(str(database)) as con:
        fct_order_ids = {
            row[0]
            for row in con.execute("select order_id from analytics_marts.fct_orders").fetchall()
        }
        raw_order_ids = {
            row[0] for row in con.execute("select order_id from raw_olist.orders").fetchall()
        }
    assert len(raw_order_ids) == orders[2]
    assert fct_order_ids == raw_order_ids
