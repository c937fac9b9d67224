"""`make diff TARGET=postgres`: the review schemas are built in production's database.

Production is a copy of the project built at scale 0.01 in the analytics_* schemas of a
fresh database on the test server; the diff of the rounding change builds review_* beside
them, and the test compares each relation of the two schemas itself, in Python.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dbt_cli import PROJECT_ROOT, copy_project, run_dbt
from olist_elt.dev import postgres as devserver
from olist_elt.generate.dataset import generate
from olist_elt.load.loader import load
from olist_elt.review.diff import diff
from pg_server import admin
from test_review_diff import ALLOCATION, check_against_reference

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def pg_baseline(
    pg_server: devserver.PgServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Any]]:
    database = f"review_{uuid.uuid4().hex[:8]}"
    devserver.create_database(pg_server, database)
    work = tmp_path_factory.mktemp("review_diff_pg")
    project = copy_project(work / "project")
    profiles = work / "profiles"
    profiles.mkdir()
    shutil.copyfile(PROJECT_ROOT / "profiles.yml.example", profiles / "profiles.yml")
    env = {**pg_server.env(), "OLIST_PG_DATABASE": database, "OLIST_TARGET": "postgres"}
    generate(work / "data", scale=0.01, seed=7)
    try:
        with pytest.MonkeyPatch.context() as patch:
            for name, value in env.items():
                patch.setenv(name, value)
            report = load(str(work / "data"), target="postgres", profiles_dir=str(profiles))
            assert report.ok, report.summary()
            run_dbt(
                "build",
                "--target",
                "postgres",
                "--exclude-resource-type",
                "test",
                "unit_test",
                project_dir=project,
                profiles_dir=profiles,
                target_path=work / "prod",
                env=env,
                timeout=900,
            ).check()
            yield {"work": work, "project": project, "profiles": profiles, "env": env}
    finally:
        admin(pg_server, f'drop database if exists "{database}" with (force)')


def test_rounding_change_on_postgres(pg_baseline: dict[str, Any], pg_server) -> None:
    import psycopg2

    work: Path = pg_baseline["work"]
    project = work / "remainder_last"
    shutil.copytree(pg_baseline["project"], project)
    sql = project / ALLOCATION
    text = sql.read_text(encoding="utf-8")
    old = "            order by order_items.order_item_id\n"
    assert text.count(old) == 1
    sql.write_text(text.replace(old, old.rstrip("\n") + " desc\n"), encoding="utf-8")

    with pytest.MonkeyPatch.context() as patch:
        for name, value in pg_baseline["env"].items():
            patch.setenv(name, value)
        report = diff(
            work / "prod",
            project_dir=project,
            target="postgres",
            profiles_dir=pg_baseline["profiles"],
            review_schema="review_pr",
            work_dir=work / "remainder_last-diff",
        )
    env = pg_baseline["env"]
    connection = psycopg2.connect(pg_server.dsn(env["OLIST_PG_DATABASE"]))
    try:

        def fetch(relation: str) -> tuple[list[str], list[tuple[Any, ...]]]:
            schema, name = relation.split(".")
            with connection.cursor() as cursor:
                cursor.execute(f'select * from "{schema}"."{name}"')
                return [d[0] for d in cursor.description], cursor.fetchall()

        figures = check_against_reference(report, fetch, fetch)
    finally:
        connection.close()
    allocation = report.relation("int_order_payments_allocated_to_items")
    assert allocation.current_relation.startswith("review_pr_")
    assert allocation.base_relation.startswith("analytics_")
    assert allocation.rows_changed and allocation.rows_changed > 0
    assert figures["fct_order_items"]["changed"] == allocation.rows_changed
