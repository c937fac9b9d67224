"""The watermark macros (macros/incremental_watermark.sql, macros/marts/incremental_orders.sql)
decide what an incremental run recomputes, on DuckDB and on PostgreSQL.

A small fixture project (fixtures/incremental_macros_project) reads the real macros through
its macro-paths and calls them, with their arguments, in two incremental models whose
lineage columns have other names than the defaults. Its dbt unit tests give the table's
watermark and the source rows and expect the keys a run recomputes: the load-time boundary
(loaded exactly at the watermark is not new), the first day of the lookback, a late drop, an
empty table, every row of a changed key read, an order changed by its customer's rows. One
case expects a wrong answer and must fail, so a macro that returned everything would not pass.

A unit test reads the watermark through a subquery (its `this` is a fixture of the same
query); a run reads it first and writes it into the model as literals. The run path is built
for real: rows arrive a microsecond apart around a watermark with microseconds, and only the
one after it is new.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from dbt.cli.main import dbtRunner

from dbt_cli import fixture_profiles, fixture_project_args
from pg_server import query_once

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


# Rows that arrive after the first build (whose watermark is k1's, 2018-08-01 06:00): a
# watermark with microseconds, then a row exactly at it and one a microsecond later, both of
# a drop date before the lookback, so the load time alone decides.
ARRIVALS = (
    [("k2", "2018-08-10 06:00:00.123456", "2018-08-10")],
    [
        ("at_watermark", "2018-08-10 06:00:00.123456", "2018-07-01"),
        ("one_microsecond_later", "2018-08-10 06:00:00.123457", "2018-07-01"),
    ],
)


def run_incremental_builds(profiles: Path, work: Path, execute: Any) -> tuple[list[str], str]:
    """Seed, build changed_keys whole, then add each batch of ARRIVALS and build it again;
    the keys on the table and the SQL of the last run."""
    common = fixture_project_args(FIXTURE_PROJECT, profiles, work)
    runner = dbtRunner()
    assert runner.invoke(["seed", *common]).success, "dbt seed of the fixture failed"
    built = runner.invoke(["run", "--select", "changed_keys", *common])
    assert built.success, f"the first build failed: {built.exception!r}"
    for batch in ARRIVALS:
        values = ", ".join(
            f"('{key}', cast('{at}' as timestamp), cast('{on}' as date))" for key, at, on in batch
        )
        execute(f"insert into arrivals (key_id, arrived_at, dropped_on) values {values}")
        built = runner.invoke(["run", "--select", "changed_keys", *common])
        assert built.success, f"an incremental build failed: {built.exception!r}"
    keys = sorted(row[0] for row in execute("select key_id from changed_keys"))
    compiled = next((work / "target" / "compiled").rglob("changed_keys.sql")).read_text()
    return keys, compiled


def check_run(keys: list[str], compiled: str, engine: str) -> None:
    assert keys == ["k1", "k2", "one_microsecond_later"], f"{engine}: keys on the table {keys}"
    # the watermark as the run read it, to the microsecond, written into the model's query
    assert "'2018-08-10 06:00:00.123456'" in compiled, f"{engine}: no literal watermark"


def test_a_run_reads_the_watermark_to_the_microsecond_on_duckdb(tmp_path: Path) -> None:
    import duckdb

    profiles = fixture_profiles(PROFILE, tmp_path)

    def execute(sql: str) -> list[tuple[Any, ...]]:
        # the same file dbt has open in this process: DuckDB shares its instance
        connection = duckdb.connect(str(tmp_path / "fixture.duckdb"))
        try:
            return connection.execute(sql).fetchall()
        finally:
            connection.close()

    check_run(*run_incremental_builds(profiles, tmp_path, execute), "duckdb")


def test_a_run_reads_the_watermark_to_the_microsecond_on_postgres(
    pg_server: Any, pg_database: str, tmp_path: Path
) -> None:
    import psycopg2

    profiles = fixture_profiles(PROFILE, tmp_path, pg_server, pg_database)

    def execute(sql: str) -> list[tuple[Any, ...]]:
        connection = psycopg2.connect(pg_server.dsn(pg_database))
        connection.autocommit = True
        return query_once(connection, sql)

    check_run(*run_incremental_builds(profiles, tmp_path, execute), "postgres")
