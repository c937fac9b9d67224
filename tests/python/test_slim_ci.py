"""Slim CI selects exactly what changed and everything downstream of it.

CI keeps main's manifest as the production state; a pull request builds
`state:modified+` against it. Here a copy of the project plays both sides: its parsed
manifest is production, then one staging model is edited and `dbt ls` must return that
model and its descendants, as the production manifest's child_map says, nothing else.
"""

from __future__ import annotations

import json
from collections import deque
from pathlib import Path
from typing import Any

import pytest

from dbt_cli import copy_project, load_json, run_dbt, write_profiles
from olist_elt.settings import PRODUCTION_DBT_VARS

pytestmark = pytest.mark.slow

CHANGED_MODEL = "model.olist_elt.stg_olist__orders"
CHANGED_FILE = Path("models/staging/olist/stg_olist__orders.sql")


def descendants(child_map: dict[str, list[str]], start: str) -> set[str]:
    seen = {start}
    queue = deque([start])
    while queue:
        for child in child_map.get(queue.popleft(), []):
            if child not in seen:
                seen.add(child)
                queue.append(child)
    return seen


def listed_ids(stdout: str) -> set[str]:
    """unique_ids from `dbt ls --output json --output-keys unique_id` (one JSON per line)."""
    ids = set()
    for line in stdout.splitlines():
        line = line.strip()
        if line.startswith("{") and '"unique_id"' in line:
            ids.add(json.loads(line)["unique_id"])
    return ids


@pytest.fixture(scope="module")
def project_copy(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    work = tmp_path_factory.mktemp("slim_ci")
    project = copy_project(work / "project")
    profiles = write_profiles(work / "profiles", work / "slim.duckdb")
    prod = work / "prod-artifacts"
    # Production's manifest comes from `make run` (olist_environment: production); a pull
    # request parses with dbt's development default. The full_refresh config that the var
    # sets differs between the two, but state:modified compares the unrendered config.
    vars_arg = json.dumps(PRODUCTION_DBT_VARS)
    run_dbt(
        "parse", "--vars", vars_arg, project_dir=project, profiles_dir=profiles, target_path=prod
    ).check()
    return {"project": project, "profiles": profiles, "prod": prod, "work": work}


def _ls_modified(setup: dict[str, Any], target: str) -> set[str]:
    run = run_dbt(
        "ls",
        "--select",
        "state:modified+",
        "--state",
        str(setup["prod"]),
        "--output",
        "json",
        "--output-keys",
        "unique_id",
        "--quiet",
        project_dir=setup["project"],
        profiles_dir=setup["profiles"],
        target_path=setup["work"] / target,
    ).check()
    return listed_ids(run.stdout)


def test_unchanged_project_selects_nothing(project_copy: dict[str, Any]) -> None:
    assert _ls_modified(project_copy, "target-unchanged") == set()


def test_changed_staging_model_selects_it_and_its_descendants(
    project_copy: dict[str, Any],
) -> None:
    manifest = load_json(project_copy["prod"] / "manifest.json")
    assert CHANGED_MODEL in manifest["nodes"], f"{CHANGED_MODEL} not in the manifest"
    expected = descendants(manifest["child_map"], CHANGED_MODEL)
    # Unit tests are not in child_map, but state:modified+ reaches those of changed models.
    for uid, unit_test in manifest.get("unit_tests", {}).items():
        if set(unit_test["depends_on"]["nodes"]) & expected:
            expected.add(uid)
    assert len(expected) > 1, "the changed model should have children (tests, marts)"

    sql_file = project_copy["project"] / CHANGED_FILE
    sql_file.write_text(
        sql_file.read_text(encoding="utf-8") + "\n-- a change under review\n", encoding="utf-8"
    )
    selected = _ls_modified(project_copy, "target-changed")

    assert selected == expected, (
        f"missing from the selection: {sorted(expected - selected)}\n"
        f"selected but not downstream: {sorted(selected - expected)}"
    )
