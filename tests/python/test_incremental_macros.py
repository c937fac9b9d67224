"""The watermark macros (macros/incremental_watermark.sql, macros/marts/incremental_orders.sql)
decide what an incremental run recomputes, on DuckDB and on PostgreSQL.

A small fixture project (fixtures/incremental_macros_project) reads the real macros through
its macro-paths and calls them, with their arguments, in two incremental models whose
lineage columns have other names than the defaults. Its dbt unit tests give the table's
watermark and the source rows and expect the keys a run recomputes: the load-time boundary
(loaded exactly at the watermark is not new), the first day of the lookback, a late drop, an
empty table, every row of a changed key read, an order changed by its customer's rows. One
case expects a wrong answer and must fail, so a macro that returned everything would not pass.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from dbt.cli.main import dbtRunner

from dbt_cli import fixture_profiles, fixture_project_args

pytestmark = pytest.mark.slow

FIXTURE_PROJECT = Path(__file__).parent / "fixtures" / "incremental_macros_project"
PROFILE = "incremental_macros_fixture"  # the profile its dbt_project.yml names
# unit test -> passes
EXPECTED = {
    "full_build_keeps_every_key": True,
    "keys_since_watermark_by_load_time_or_lookback": True,
    "wrong_expectation_fails": False,
    "empty_table_sees_every_row_as_new": True,
    "changed_orders_by_own_or_customer_rows": True,
}


def run_unit_tests(profiles: Path, work: Path) -> dict[str, tuple[bool, str | None]]:
    """Seed the fixture project and run its unit tests: (passed, message) by test name."""
    common = fixture_project_args(FIXTURE_PROJECT, profiles, work)
    runner = dbtRunner()
    # the unit tests read the column types of their inputs from the seeded tables
    seeded = runner.invoke(["seed", *common])
    assert seeded.success, f"dbt seed of {FIXTURE_PROJECT} failed: {seeded.exception!r}"
    result = runner.invoke(["test", "--select", "test_type:unit", *common])
    # one case fails on purpose; an exception means dbt itself broke
    assert result.exception is None, f"dbt test of {FIXTURE_PROJECT} raised {result.exception!r}"
    assert result.result is not None, "dbt test returned no results"
    return {r.node.name: (str(r.status) == "pass", r.message) for r in result.result.results}


def check(outcomes: dict[str, tuple[bool, str | None]], engine: str) -> None:
    assert sorted(outcomes) == sorted(EXPECTED), f"{engine}: unit tests run: {sorted(outcomes)}"
    wrong = {
        name: message for name, (passed, message) in outcomes.items() if passed != EXPECTED[name]
    }
    assert not wrong, f"{engine}: unexpected outcomes (expected pass = {EXPECTED}): {wrong}"


def test_watermark_macros_on_duckdb(tmp_path: Path) -> None:
    check(run_unit_tests(fixture_profiles(PROFILE, tmp_path), tmp_path), "duckdb")


def test_watermark_macros_on_postgres(pg_server: Any, pg_database: str, tmp_path: Path) -> None:
    profiles = fixture_profiles(PROFILE, tmp_path, pg_server, pg_database)
    check(run_unit_tests(profiles, tmp_path), "postgres")
