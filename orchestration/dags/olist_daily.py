"""Airflow DAG `olist_daily`: the daily workflow of olist-elt, one run per drop date.

    wait_for_drop -> load_drop -> dbt_build -> archive_run_results
                                            -> source_freshness -> docs_generate

dbt_build is an astronomer-cosmos task group: one task per model, seed and snapshot.

A run for logical date D handles the drop `ingest_date=D/` of OLIST_DROPS_URI. It runs in
Airflow's own virtualenv (.venv-airflow: Airflow's and dbt's dependency sets conflict) and
calls the project's executables in OLIST_VENV_BIN (olist, dbt): nothing of dbt is
imported here. Every step can run again for any day and changes nothing the second time:
the loader skips a file its audit table already holds, dbt's incremental models recompute the
keys loaded after their watermark, the rest is rebuilt whole.

Settings (environment of the scheduler and workers; defaults in brackets):

- OLIST_DROPS_URI            s3://bucket/prefix/ of the daily drops (required to run)
- OLIST_PROJECT_DIR          the dbt project [two folders above this file]
- OLIST_VENV_BIN             the project venv's bin folder [OLIST_PROJECT_DIR/.venv/bin]
- DBT_PROFILES_DIR           folder of profiles.yml [OLIST_PROJECT_DIR]
- OLIST_TARGET               output of the olist_elt profile [duckdb]
- OLIST_DBT_MANIFEST         manifest.json the tasks are rendered from (`make airflow-manifest`)
                             [OLIST_PROJECT_DIR/target/manifest.json]
- OLIST_RUN_HISTORY_DIR      where each dbt run_results.json is archived
                             [OLIST_PROJECT_DIR/run-history]
- OLIST_DOCS_DIR             where `dbt docs generate` writes the docs site
                             [OLIST_PROJECT_DIR/target]
- OLIST_DASHBOARDS_DIR       where the dashboard pages are built
                             [OLIST_PROJECT_DIR/target/dashboards]
- OLIST_DAG_RETRIES, OLIST_DAG_RETRY_DELAY_MINUTES   [2, 5: exponential backoff]
- OLIST_DBT_SELECT, OLIST_DBT_EXCLUDE, OLIST_DBT_DETACH_TESTS   render a part of the
                             project (see below) [everything; true]
- OLIST_ALERT_TOPIC_ARN      SNS topic for failure alerts [none: alerts are logged only]
- OLIST_ALERT_SLACK_WEBHOOK  Slack incoming webhook, optional
- OLIST_DAG_START_DATE       first drop date the DAG knows [2016-09-04]
- OLIST_DROP_WAIT_HOURS      how long the sensor waits for a drop [18]
- AWS_ENDPOINT_URL           S3/SNS endpoint (MinIO, tests); otherwise AWS's
"""

from __future__ import annotations

import json
import os
import shlex
from datetime import datetime, timedelta
from pathlib import Path

# cosmos sends usage statistics unless told not to; a scheduler has no business calling out.
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("AIRFLOW__COSMOS__ENABLE_TELEMETRY", "False")

from airflow.providers.standard.operators.bash import BashOperator
from airflow.providers.standard.sensors.python import PythonSensor
from airflow.sdk import DAG
from airflow.timetables.interval import CronDataIntervalTimetable
from cosmos import (
    DbtTaskGroup,
    ExecutionConfig,
    ProfileConfig,
    ProjectConfig,
    RenderConfig,
)
from cosmos.constants import (
    ExecutionMode,
    InvocationMode,
    LoadMode,
    TestBehavior,
    TestIndirectSelection,
)

from olist_elt.ops.alerts import airflow_failure_callback, drop_has_files
from olist_elt.ops.run_history import archive_cosmos_artifacts
from olist_elt.settings import PRODUCTION_DBT_VARS

DAG_ID = "olist_daily"
PROJECT_DIR = Path(os.environ.get("OLIST_PROJECT_DIR", Path(__file__).resolve().parents[2]))
VENV_BIN = Path(os.environ.get("OLIST_VENV_BIN", PROJECT_DIR / ".venv" / "bin"))
PROFILES_DIR = Path(os.environ.get("DBT_PROFILES_DIR", PROJECT_DIR))
TARGET = os.environ.get("OLIST_TARGET", "duckdb")
MANIFEST = Path(os.environ.get("OLIST_DBT_MANIFEST", PROJECT_DIR / "target" / "manifest.json"))
RUN_HISTORY_DIR = Path(os.environ.get("OLIST_RUN_HISTORY_DIR", PROJECT_DIR / "run-history"))
# Where `dbt docs generate` writes the site (index.html, manifest.json, catalog.json).
DOCS_DIR = Path(os.environ.get("OLIST_DOCS_DIR", PROJECT_DIR / "target"))
DASHBOARDS_DIR = Path(os.environ.get("OLIST_DASHBOARDS_DIR", PROJECT_DIR / "target/dashboards"))
DROPS_URI = os.environ.get("OLIST_DROPS_URI", "")
START_DATE = datetime.fromisoformat(os.environ.get("OLIST_DAG_START_DATE", "2016-09-04"))
DROP_WAIT = timedelta(hours=float(os.environ.get("OLIST_DROP_WAIT_HOURS", "18")))
DROP_DATE = "{{ ds }}"
# Tests of several nodes (relationships, reconciliations) run as tasks of their own once all
# their parents are built; OLIST_DBT_DETACH_TESTS=false leaves them out (the node tasks still
# run each node's own tests).
DETACH_TESTS = os.environ.get("OLIST_DBT_DETACH_TESTS", "true").lower() != "false"
# The dbt artifacts of one DAG run: <history>/<day>/<run id>/<task id>/run_results.json.
RUN_DIR = f"{RUN_HISTORY_DIR}/{{{{ ds }}}}/{{{{ run_id | replace(':', '_') | replace('+', '_') }}}}"

default_args = {
    "owner": "analytics",
    "retries": int(os.environ.get("OLIST_DAG_RETRIES", "2")),
    "retry_delay": timedelta(minutes=float(os.environ.get("OLIST_DAG_RETRY_DELAY_MINUTES", "5"))),
    "retry_exponential_backoff": True,
    "execution_timeout": timedelta(minutes=45),
    "on_failure_callback": airflow_failure_callback,
}


# Production to dbt, in every dbt task: without it dbt_project.yml's development default
# would rebuild each incremental model whole and accept a changed schema silently
# (docs/production.md). The same vars in each task also keep dbt's partial parse valid.
DBT_VARS_ARG = f"--vars {shlex.quote(json.dumps(PRODUCTION_DBT_VARS))}"


def _project_cmd(executable: str, *args: str) -> str:
    """A shell command running one of the project venv's executables from the project."""
    return " ".join([f"cd {PROJECT_DIR} &&", str(VENV_BIN / executable), *args])


def _endpoint_arg() -> str:
    endpoint = os.environ.get("AWS_ENDPOINT_URL")
    return f"--endpoint-url {endpoint}" if endpoint else ""


with DAG(
    dag_id=DAG_ID,
    description="Load the day's Olist drop, dbt build, snapshot, freshness, docs",
    # The run for day D starts when D is over (00:00 UTC of D + 1); {{ ds }} is D.
    schedule=CronDataIntervalTimetable("0 0 * * *", timezone="UTC"),
    start_date=START_DATE,
    # Days missed are run with `airflow backfill create`, not on unpause.
    catchup=False,
    # One day at a time, in order: the snapshot records each day's state and the facts'
    # watermark moves forward.
    max_active_runs=1,
    default_args=default_args,
    doc_md=__doc__,
    tags=["olist", "dbt"],
) as dag:
    wait_for_drop = PythonSensor(
        task_id="wait_for_drop",
        python_callable=drop_has_files,
        op_kwargs={"drops_uri": DROPS_URI, "ingest_date": DROP_DATE},
        mode="reschedule",  # frees the worker slot between pokes
        poke_interval=10 * 60,
        timeout=DROP_WAIT.total_seconds(),
        # Waiting is not failing: a drop that never comes fails the sensor once, alerted.
        retries=0,
        execution_timeout=None,
    )

    load_drop = BashOperator(
        task_id="load_drop",
        bash_command=_project_cmd(
            "olist",
            "load",
            f"--drops {DROPS_URI}",
            f"--date {DROP_DATE}",
            f"--target {TARGET}",
            f"--profiles-dir {PROFILES_DIR}",
            _endpoint_arg(),
        ),
        execution_timeout=timedelta(minutes=30),
    )

    dbt_build = DbtTaskGroup(
        group_id="dbt_build",
        project_config=ProjectConfig(
            dbt_project_path=PROJECT_DIR,
            manifest_path=MANIFEST,
            project_name="olist_elt",
        ),
        profile_config=ProfileConfig(
            profile_name="olist_elt",
            target_name=TARGET,
            profiles_yml_filepath=PROFILES_DIR / "profiles.yml",
        ),
        execution_config=ExecutionConfig(
            execution_mode=ExecutionMode.LOCAL,
            invocation_mode=InvocationMode.SUBPROCESS,
            dbt_executable_path=str(VENV_BIN / "dbt"),
            # A node's task runs the tests of that node alone (see DETACH_TESTS).
            test_indirect_selection=TestIndirectSelection.CAUTIOUS,
        ),
        render_config=RenderConfig(
            load_method=LoadMode.DBT_MANIFEST,
            # One `dbt build --select <node>` task per model, seed and snapshot (the node,
            # then its tests), so a failed test fails, and alerts, its own node.
            test_behavior=TestBehavior.BUILD,
            should_detach_multiple_parents_tests=DETACH_TESTS,
            # Everything by default; OLIST_DBT_SELECT / OLIST_DBT_EXCLUDE (space-separated
            # dbt selectors) render a part of the project (the end-to-end test stays short).
            select=os.environ.get("OLIST_DBT_SELECT", "").split(),
            # Unit tests check logic, not the day's data: CI runs them.
            exclude=["resource_type:unit_test", *os.environ.get("OLIST_DBT_EXCLUDE", "").split()],
        ),
        operator_args={
            "vars": dict(PRODUCTION_DBT_VARS),
            "install_deps": False,
            "append_env": True,
            # Runs after dbt, failed or not: keeps the node's run_results.json.
            "callback": archive_cosmos_artifacts,
            "callback_args": {"history_dir": str(RUN_HISTORY_DIR)},
        },
    )

    archive_run_results = BashOperator(
        task_id="archive_run_results",
        bash_command=_project_cmd(
            "olist",
            "history load",
            RUN_DIR,
            f"--run-label {DROP_DATE}",
            f"--target {TARGET}",
            f"--profiles-dir {PROFILES_DIR}",
        ),
        trigger_rule="all_done",  # failed builds are what the history is for
    )

    source_freshness = BashOperator(
        task_id="source_freshness",
        bash_command=_project_cmd(
            "dbt",
            "source freshness",
            DBT_VARS_ARG,
            f"--target {TARGET}",
            f"--profiles-dir {PROFILES_DIR}",
            f"--target-path {RUN_DIR}/source_freshness",
        ),
    )

    docs_generate = BashOperator(
        task_id="docs_generate",
        bash_command=_project_cmd(
            "dbt",
            "docs generate",
            DBT_VARS_ARG,
            f"--target {TARGET}",
            f"--profiles-dir {PROFILES_DIR}",
            f"--target-path {DOCS_DIR}",
        ),
    )

    # The pages read the marts: rebuilt once the whole build has passed; a page without
    # data fails the task (and alerts) rather than publishing an empty dashboard. A DAG
    # rendering part of the project (OLIST_DBT_SELECT / OLIST_DBT_EXCLUDE) does not build
    # every mart, so it leaves the dashboards alone.
    whole_project = not (
        os.environ.get("OLIST_DBT_SELECT", "").strip()
        or os.environ.get("OLIST_DBT_EXCLUDE", "").strip()
    )
    build_dashboards = (
        BashOperator(
            task_id="build_dashboards",
            bash_command=_project_cmd(
                "olist",
                "dashboards",
                f"--target {TARGET}",
                f"--profiles-dir {PROFILES_DIR}",
                f"--output-dir {DASHBOARDS_DIR}",
            ),
        )
        if whole_project
        else None
    )

    wait_for_drop >> load_drop >> dbt_build
    dbt_build >> [source_freshness, archive_run_results]
    if build_dashboards is not None:
        dbt_build >> build_dashboards
    source_freshness >> docs_generate
