"""dbt run results are kept: run_results.json archived and loaded into ops.dbt_run_results,
and the failing rows of a data test stored in the test-failures schema (store_failures).
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import duckdb
import pytest
import yaml

from dbt_cli import write_profiles
from olist_elt.cli import main
from olist_elt.ops.run_history import archive, find_results, load, read_results

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DBT = PROJECT_ROOT / ".venv" / "bin" / "dbt"


def run_results(invocation_id: str, statuses: dict[str, str]) -> dict[str, object]:
    """A run_results.json as dbt 1.11 writes it, with the fields the loader reads."""
    return {
        "metadata": {
            "dbt_schema_version": "https://schemas.getdbt.com/dbt/run-results/v6.json",
            "dbt_version": "1.11.0",
            "generated_at": "2018-08-16T00:12:34.567890Z",
            "invocation_id": invocation_id,
        },
        "args": {"which": "build"},
        "elapsed_time": 3.2,
        "results": [
            {
                "unique_id": unique_id,
                "status": status,
                "execution_time": 0.25,
                "failures": 3
                if status == "fail"
                else (0 if unique_id.startswith("test.") else None),
                "message": "Got 3 results, configured to fail if != 0"
                if status == "fail"
                else None,
                "relation_name": None,
                "adapter_response": {},
                "timing": [],
                "thread_id": "Thread-1",
                "compiled": True,
            }
            for unique_id, status in statuses.items()
        ],
    }


@pytest.fixture
def profiles(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = write_profiles(tmp_path / "profiles", tmp_path / "w.duckdb", threads=1)
    monkeypatch.setenv("DBT_PROFILES_DIR", str(folder))
    return folder


def test_run_results_are_archived_and_loaded_once_per_invocation(
    tmp_path: Path, profiles: Path
) -> None:
    statuses = {
        "model.olist_elt.fct_orders": "success",
        "test.olist_elt.unique_fct_orders_order_id.abc": "fail",
        "snapshot.olist_elt.customers_snapshot": "success",
    }
    source = tmp_path / "target" / "run_results.json"
    source.parent.mkdir()
    source.write_text(json.dumps(run_results("inv-1", statuses)))

    copy = archive(source, tmp_path / "history")
    assert copy == tmp_path / "history" / "2018-08-16" / "inv-1" / "run_results.json"
    assert find_results(tmp_path / "history") == [copy]

    assert load([copy], run_label="2018-08-15") == 3
    assert load([copy], run_label="2018-08-15") == 3  # again: replaced, not duplicated
    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as connection:
        rows = connection.execute(
            "select resource_type, node_name, status, failures, message, run_label, "
            "cast(generated_at as varchar) from ops.dbt_run_results order by unique_id"
        ).fetchall()
    assert rows == [
        ("model", "fct_orders", "success", None, None, "2018-08-15", "2018-08-16 00:12:34.56789"),
        (
            "snapshot",
            "customers_snapshot",
            "success",
            None,
            None,
            "2018-08-15",
            "2018-08-16 00:12:34.56789",
        ),
        (
            "test",
            "unique_fct_orders_order_id",
            "fail",
            3,
            "Got 3 results, configured to fail if != 0",
            "2018-08-15",
            "2018-08-16 00:12:34.56789",
        ),
    ]


def test_unreadable_run_results_name_the_file(tmp_path: Path) -> None:
    path = tmp_path / "run_results.json"
    path.write_text('{"metadata": {}}')
    with pytest.raises(ValueError, match=r"run_results\.json: not a dbt run_results\.json"):
        read_results(path)


def test_cli_load_with_nothing_to_load_fails(tmp_path: Path) -> None:
    assert main(["history", "load", str(tmp_path)]) == 1


def test_store_failures_is_configured_for_every_data_test() -> None:
    config = yaml.safe_load((PROJECT_ROOT / "dbt_project.yml").read_text())
    tests = config["data_tests"]["olist_elt"]
    assert tests["+store_failures"] is True
    assert tests["+schema"] == "test_failures"


@pytest.mark.slow
def test_a_failing_test_leaves_its_rows_and_its_result_queryable(
    tmp_path: Path, profiles: Path
) -> None:
    """One seed and its tests: make a test fail, then find its rows and its result."""
    target = tmp_path / "target"

    def dbt(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(DBT), *args, "--target-path", str(target), "--profiles-dir", str(profiles)],
            cwd=PROJECT_ROOT,
            capture_output=True,
            text=True,
            check=False,
            env={"PATH": "/usr/bin:/bin", "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"},
        )

    built = dbt("build", "--select", "brazilian_states", "--indirect-selection", "cautious")
    assert built.returncode == 0, built.stdout[-3000:]
    with duckdb.connect(str(tmp_path / "w.duckdb")) as connection:
        connection.execute(
            "insert into analytics_seeds.brazilian_states "
            "select * from analytics_seeds.brazilian_states limit 1"
        )
    tested = dbt("test", "--select", "brazilian_states", "--indirect-selection", "cautious")
    assert tested.returncode == 1, tested.stdout[-3000:]

    archived = archive(target / "run_results.json", tmp_path / "history")
    assert main(["history", "load", str(archived.parent), "--run-label", "seed-check"]) == 0
    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as connection:
        failed = connection.execute(
            "select node_name, failures from ops.dbt_run_results where status = 'fail'"
        ).fetchall()
        assert failed and all(count >= 1 for _, count in failed), failed
        stored = {
            name
            for (name,) in connection.execute(
                "select table_name from information_schema.tables "
                "where table_schema = 'analytics_test_failures'"
            ).fetchall()
        }
        for name, count in failed:
            assert name in stored, (name, sorted(stored))
            rows = connection.execute(
                f'select count(*) from analytics_test_failures."{name}"'
            ).fetchone()[0]
            assert rows == count, (name, rows)
    assert {name for name, _ in failed} == {
        "unique_brazilian_states_state_code",
        "unique_brazilian_states_state_name",
    }
