"""Analysts change incremental models freely in development; production refuses until a deploy.

dbt_project.yml sets every model's `full_refresh` from the var `olist_environment` (default
OLIST_ENVIRONMENT, else development). On a copy of the project and a tiny warehouse built
the production way (`olist run`):

1. the analyst's edit: a column added to stg_olist__orders, and a column of fct_order_items
   (an incremental mart nothing downstream reads it from) renamed with its YAML;
2. plain `dbt build -s stg_olist__orders+` from the project folder, as an analyst runs it
   (no flags, no var), on a copy of the warehouse: it passes, the new column is filled for
   every row, and everything downstream was rebuilt;
3. production (`olist daily` for a drop, on the warehouse left as production built it)
   fails on the changed schema and says which model and what to do;
4. the documented deploy, `olist daily --deploy --full-refresh`, passes and brings the
   production tables to the new columns.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb
import pytest
import yaml
from dbt.clients.jinja import get_rendered

from dbt_cli import DBT, PROJECT_ROOT, copy_project
from olist_elt.daily.replay import replay
from olist_elt.generate.dataset import generate

OLIST = Path(sys.executable).with_name("olist")
EDITED_STAGING = Path("models/staging/olist/stg_olist__orders.sql")
EDITED_MART = Path("models/marts/core/fct_order_items.sql")
MART_YAML = Path("models/marts/core/_core__models.yml")
OLD_COLUMN, NEW_COLUMN = "customer_city_at_order", "customer_city_when_ordered"


@dataclass(frozen=True)
class Setup:
    project: Path
    production: Path  # the production warehouse (DuckDB file)
    drops: Path
    day: date


def clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without the settings an analyst's shell would not have."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("OLIST_") and key not in {"DBT_PROFILES_DIR", "DBT_TARGET_PATH"}
    }
    return {**env, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false", **extra}


def run(command: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, timeout=900, check=False
    )


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{path}: expected {old!r} once"
    path.write_text(text.replace(old, new), encoding="utf-8")


def query(database: Path, sql: str) -> list[tuple[object, ...]]:
    with duckdb.connect(str(database), read_only=True) as connection:
        return connection.execute(sql).fetchall()


def columns(database: Path, schema: str, table: str) -> set[str]:
    rows = query(
        database,
        "select column_name from information_schema.columns "
        f"where table_schema = '{schema}' and table_name = '{table}'",
    )
    return {name for (name,) in rows}


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Setup:
    work = tmp_path_factory.mktemp("development_mode")
    project = copy_project(work / "project")
    # What `make install` writes: plain `dbt` run from the project folder finds it.
    shutil.copy(PROJECT_ROOT / "profiles.yml.example", project / "profiles.yml")
    data = work / "data"
    generate(data, scale=0.01, seed=7)
    production = work / "production.duckdb"
    built = run(
        [str(OLIST), "run", "--source", str(data), "--target", "duckdb"],
        cwd=project,
        env=clean_env(OLIST_PROJECT_DIR=str(project), OLIST_DUCKDB_PATH=str(production)),
    )
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    # The day of the last purchase: its drop holds that order, so a daily run builds orders.
    with (data / "olist_orders_dataset.csv").open(encoding="utf-8", newline="") as handle:
        day = max(
            date.fromisoformat(row["order_purchase_timestamp"][:10])
            for row in csv.DictReader(handle)
        )
    drops = work / "drops"
    replay(data, drops, date_from=day, date_to=day)
    # The analyst's edit, the way the brief of the change goes: a new column in staging, a
    # column renamed in an incremental mart (SQL and YAML, as its contract requires).
    edit(
        project / EDITED_STAGING,
        "{{ clean_cast('order_status') }} as order_status,",
        "{{ clean_cast('order_status') }} as order_status,\n"
        "        upper(order_status) as order_status_label,",
    )
    edit(project / EDITED_MART, f"as {OLD_COLUMN},", f"as {NEW_COLUMN},")
    yaml_text = (project / MART_YAML).read_text(encoding="utf-8")
    first = yaml_text.index(f"- name: {OLD_COLUMN}")  # fct_order_items comes first
    assert (
        yaml_text.index("- name: fct_order_items") < first < yaml_text.index("- name: fct_orders")
    )
    (project / MART_YAML).write_text(
        yaml_text[:first]
        + f"- name: {NEW_COLUMN}"
        + yaml_text[first + len(f"- name: {OLD_COLUMN}") :],
        encoding="utf-8",
    )
    return Setup(project, production, drops, day)


@pytest.mark.slow
def test_an_analyst_build_after_an_edit_fills_the_new_columns_and_rebuilds_downstream(
    setup: Setup,
) -> None:
    # The analyst's own warehouse: what `make run` built, before the edit.
    analyst = setup.project / "warehouse" / "olist.duckdb"
    analyst.parent.mkdir(exist_ok=True)
    shutil.copy(setup.production, analyst)
    built = run([str(DBT), "build", "-s", "stg_olist__orders+"], setup.project, clean_env())
    assert built.returncode == 0, built.stdout[-4000:]

    rows, labelled, wrong = query(
        analyst,
        "select count(*), count(order_status_label), "
        "count(*) filter (where order_status_label is distinct from upper(order_status)) "
        "from analytics_staging.stg_olist__orders",
    )[0]
    assert rows > 0 and labelled == rows and wrong == 0, (rows, labelled, wrong)
    mart = columns(analyst, "analytics_marts", "fct_order_items")
    assert NEW_COLUMN in mart and OLD_COLUMN not in mart, sorted(mart)
    items, filled = query(
        analyst, f"select count(*), count({NEW_COLUMN}) from analytics_marts.fct_order_items"
    )[0]
    assert items > 0 and filled == items, (items, filled)
    # Downstream rebuilt: every model of the selection ran, the incremental facts included.
    results = json.loads((setup.project / "target" / "run_results.json").read_text())
    ran = {r["unique_id"].split(".")[-1]: r["status"] for r in results["results"]}
    for model in ("stg_olist__orders", "fct_orders", "fct_order_items", "customer_360"):
        assert ran.get(model) == "success", (model, ran.get(model))


@pytest.mark.slow
def test_production_refuses_the_changed_schema_until_the_deploy(setup: Setup) -> None:
    env = clean_env(OLIST_PROJECT_DIR=str(setup.project), OLIST_DUCKDB_PATH=str(setup.production))
    daily = [str(OLIST), "daily", "--drops", str(setup.drops), "--date", str(setup.day)]
    refused = run([*daily, "--target", "duckdb"], setup.project, env)
    output = refused.stdout + refused.stderr
    assert refused.returncode == 1, output[-3000:]
    assert "model stg_olist__orders: error" in output, output[-3000:]
    assert "its columns changed" in output and "--deploy --full-refresh" in output, output[-3000:]
    staged = columns(setup.production, "analytics_staging", "stg_olist__orders")
    assert "order_status_label" not in staged, sorted(staged)

    # --force: the drop was loaded by the refused run; the deploy loads the day again, so
    # its build is a day's build, which --deploy --full-refresh widens to every table.
    deployed = run(
        [*daily, "--target", "duckdb", "--force", "--deploy", "--full-refresh"], setup.project, env
    )
    assert deployed.returncode == 0, (deployed.stdout + deployed.stderr)[-4000:]
    rows, labelled = query(
        setup.production,
        "select count(*), count(order_status_label) from analytics_staging.stg_olist__orders",
    )[0]
    assert rows > 0 and labelled == rows, (rows, labelled)
    mart = columns(setup.production, "analytics_marts", "fct_order_items")
    assert NEW_COLUMN in mart and OLD_COLUMN not in mart, sorted(mart)


def full_refresh_config(dbt_vars: dict[str, str], environ: dict[str, str]) -> object:
    """dbt_project.yml's full_refresh, rendered as dbt renders the project file (natively)."""
    project = yaml.safe_load((PROJECT_ROOT / "dbt_project.yml").read_text(encoding="utf-8"))
    template = project["models"]["olist_elt"]["+full_refresh"]
    context = {
        "var": lambda name, default=None: dbt_vars.get(name, default),
        "env_var": lambda name, default=None: environ.get(name, default),
    }
    return get_rendered(template, context, native=True)


def test_development_rebuilds_and_production_leaves_full_refresh_unset() -> None:
    assert full_refresh_config({}, {}) is True
    assert full_refresh_config({}, {"OLIST_ENVIRONMENT": "development"}) is True
    # None, not False: False would also forbid `--full-refresh`, the deploy.
    assert full_refresh_config({"olist_environment": "production"}, {}) is None
    assert full_refresh_config({}, {"OLIST_ENVIRONMENT": "production"}) is None
    # the var wins over the environment variable, as for olist_raw_schema
    production = {"olist_environment": "production"}
    assert full_refresh_config(production, {"OLIST_ENVIRONMENT": "development"}) is None
    # anything else is a string, which dbt refuses (not a boolean) with this text in the error
    typo = full_refresh_config({}, {"OLIST_ENVIRONMENT": "prod"})
    assert isinstance(typo, str) and "must be development or production, not prod" in typo
