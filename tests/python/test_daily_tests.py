"""A daily build's tests read the rows of the day, and still fail on what the day breaks.

macros/daily_tests.sql restricts the generic tests of a daily build (var daily_watermarks,
given by olist_elt.daily.run) to the rows loaded after each table's watermark, widened to the
rows that share a key with them (tests across rows, but for the key of a delete+insert table)
and, where a run recomputes whole people, to every row of their people. A small
fixture project (fixtures/daily_tests_project) reads the real macro through its macro-paths
and tests seeds of old and new rows, once as `dbt build` does (no var: every row) and once as a
daily build does. Each test has its expected number of failing rows in both runs (derived in
the seeds' YAML): an old duplicate fails only the whole-table run, a new row repeating an old
key fails both, so neither a restriction that read everything nor one that read only the
new rows would pass.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from dbt.cli.main import dbtRunner

from dbt_cli import fixture_profiles, fixture_project_args

pytestmark = pytest.mark.slow

FIXTURE_PROJECT = Path(__file__).parent / "fixtures" / "daily_tests_project"
PROFILE = "daily_tests_fixture"  # the profile its dbt_project.yml names
WATERMARKS = {
    name: {"column": "_loaded_at", "loaded_at": "2026-01-02 00:00:00"}
    for name in ("day_keys", "day_children", "day_orders")
}
# test name prefix -> failing rows (whole table, daily)
EXPECTED = {
    "unique_day_keys_key": (2, 1),
    "relationships_day_children_parent_key": (3, 2),
    "not_null_day_children_parent_key": (2, 1),
    "unique_day_orders_order_id": (3, 1),
    "unique_no_lineage_key": (1, 1),
}


def failures(profiles: Path, work: Path, dbt_vars: dict[str, Any] | None) -> dict[str, int]:
    """Seed and test the fixture project: failing rows by test (name prefix of EXPECTED)."""
    common = fixture_project_args(FIXTURE_PROJECT, profiles, work)
    if dbt_vars:
        common += ["--vars", json.dumps(dbt_vars)]
    result = dbtRunner().invoke(["build", *common])
    assert result.exception is None, f"dbt build of {FIXTURE_PROJECT} raised {result.exception!r}"
    assert result.result is not None, "dbt build returned no results"
    found = {}
    for node_result in result.result.results:
        name = node_result.node.name
        prefix = next((p for p in EXPECTED if name.startswith(p)), None)
        if prefix is not None:
            found[prefix] = int(node_result.failures or 0)
    return found


def check(profiles: Path, work: Path, engine: str) -> None:
    whole = failures(profiles, work, None)
    daily = failures(profiles, work, {"daily_watermarks": WATERMARKS})
    got = {name: (whole.get(name), daily.get(name)) for name in EXPECTED}
    assert got == EXPECTED, f"{engine}: failing rows (whole table, daily): {got}"


def test_daily_tests_on_duckdb(tmp_path: Path) -> None:
    check(fixture_profiles(PROFILE, tmp_path), tmp_path, "duckdb")


def test_daily_tests_on_postgres(pg_server: Any, pg_database: str, tmp_path: Path) -> None:
    profiles = fixture_profiles(PROFILE, tmp_path, pg_server, pg_database)
    check(profiles, tmp_path, "postgres")
