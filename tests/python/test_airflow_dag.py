"""The Airflow DAG (orchestration/dags/olist_daily.py): it parses, and it runs end to end.

Airflow lives in its own virtualenv (.venv-airflow, `make airflow-install`, which `make test`
runs first; the fixture runs it too when the venv is missing), so everything Airflow does
here happens in subprocesses of that venv's python and `airflow` executables, offline:
AIRFLOW_HOME and its SQLite metadata database in a temporary folder, S3 and SNS/SQS from the
moto server on 127.0.0.1, the warehouse a temporary DuckDB file.

The end-to-end test replays generated data (scale 0.01) into daily drops: the drops before
the first day are loaded beforehand (the warehouse was already running), then
`airflow dags test olist_daily <day>` runs the DAG for two drop days read from S3, then once
more for a day whose drop is corrupt, which must fail the load and publish an alert that an
SQS queue subscribed to the SNS topic receives. The dbt part renders the path from the
customers' raw tables to the snapshot and the address history (OLIST_DBT_SELECT): each dbt
node is a process of its own, and the whole project would take minutes a day here.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pytest

from dbt_cli import write_profiles
from olist_elt.daily.drop_load import load_drops
from olist_elt.daily.replay import replay
from olist_elt.generate.dataset import generate
from s3_server import S3Server

log = logging.getLogger(__name__)

PROJECT_ROOT = Path(__file__).resolve().parents[2]
AIRFLOW_VENV = PROJECT_ROOT / ".venv-airflow"
AIRFLOW_PYTHON = AIRFLOW_VENV / "bin" / "python"
AIRFLOW = AIRFLOW_VENV / "bin" / "airflow"
PROJECT_BIN = PROJECT_ROOT / ".venv" / "bin"
DAG_FOLDER = PROJECT_ROOT / "orchestration" / "dags"
DAG_ID = "olist_daily"

LAST_LOADED = date(2017, 2, 28)  # drops up to this day are in the warehouse beforehand
DAYS = (date(2017, 3, 1), date(2017, 3, 2))  # the DAG loads these from S3
BAD_DAY = date(2017, 3, 4)  # its drop is made unreadable: the load must fail and alert
# The dbt nodes the end-to-end run renders: staging views, intermediate tables, the snapshot.
E2E_SELECT = "+customers_snapshot +dim_customers_history"
E2E_MODELS = (
    "stg_olist__customers",
    "stg_olist__orders",
    "int_customer_addresses_collapsed_to_periods",
    "dim_customers_history",
)
NON_DBT_TASKS = {
    "wait_for_drop",
    "load_drop",
    "archive_run_results",
    "source_freshness",
    "docs_generate",
    "build_dashboards",
}


@pytest.fixture(scope="session")
def airflow_venv() -> Path:
    """The Airflow virtualenv, installed by the Makefile when missing."""
    if not (AIRFLOW_VENV / "bin" / ".installed").exists():
        subprocess.run(["make", "-s", "airflow-install"], cwd=PROJECT_ROOT, check=True)
    return AIRFLOW_VENV


@dataclass
class AirflowHome:
    home: Path
    env: dict[str, str]

    def run(self, *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(AIRFLOW), *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            cwd=self.home,
        )


def make_airflow_home(
    work: Path, extra_env: dict[str, str], migrate_db: bool = True
) -> AirflowHome:
    """AIRFLOW_HOME with a migrated SQLite database (unless told not to), the DAG's settings."""
    home = work / "airflow"
    home.mkdir()
    profiles = write_profiles(work / "profiles", work / "warehouse.duckdb", threads=1)
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("AIRFLOW", "OLIST_", "DBT_", "AWS_"))
    }
    env.update(
        {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(DAG_FOLDER),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__COSMOS__CACHE_DIR": str(work / "cosmos-cache"),
            "AIRFLOW__COSMOS__ENABLE_TELEMETRY": "False",
            "DO_NOT_TRACK": "1",
            "SCARF_ANALYTICS": "false",
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
            "DBT_PROFILES_DIR": str(profiles),
            "OLIST_PROJECT_DIR": str(PROJECT_ROOT),
            "OLIST_VENV_BIN": str(PROJECT_BIN),
            "OLIST_TARGET": "duckdb",
            "OLIST_DBT_MANIFEST": str(work / "dbt-target" / "manifest.json"),
            "OLIST_RUN_HISTORY_DIR": str(work / "run-history"),
            "OLIST_DOCS_DIR": str(work / "docs"),
            "OLIST_DASHBOARDS_DIR": str(work / "dashboards"),
            **extra_env,
        }
    )
    parse = subprocess.run(
        [str(PROJECT_BIN / "dbt"), "parse", "--quiet", "--target-path", str(work / "dbt-target")],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert parse.returncode == 0, f"dbt parse failed:\n{parse.stdout}\n{parse.stderr}"
    airflow = AirflowHome(home, env)
    if migrate_db:
        migrate = airflow.run("db", "migrate")
        assert migrate.returncode == 0, f"airflow db migrate failed:\n{migrate.stderr[-3000:]}"
    return airflow


def describe_dag(airflow: AirflowHome) -> dict[str, Any]:
    completed = subprocess.run(
        [str(AIRFLOW_PYTHON), str(Path(__file__).with_name("airflow_inspect.py")), str(DAG_FOLDER)],
        env=airflow.env,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert completed.returncode == 0, f"inspecting the DAG failed:\n{completed.stderr[-3000:]}"
    marker = completed.stdout.rindex("@@JSON@@")
    return json.loads(completed.stdout[marker + len("@@JSON@@") :])


# --- the DAG parses --------------------------------------------------------------------------


def test_dag_parses_with_expected_tasks_dependencies_retries_and_timeouts(
    airflow_venv: Path, tmp_path: Path
) -> None:
    # Parsing needs no metadata database.
    airflow = make_airflow_home(
        tmp_path, {"OLIST_DROPS_URI": "s3://landing/olist-drops/"}, migrate_db=False
    )
    described = describe_dag(airflow)

    assert described["import_errors"] == {}, described["import_errors"]
    dag = described["dags"][DAG_ID]
    tasks = dag["tasks"]
    assert dag["catchup"] is False and dag["max_active_runs"] == 1
    assert "0 0 * * *" in dag["schedule"], dag["schedule"]
    assert set(tasks) >= NON_DBT_TASKS, sorted(tasks)

    # Every model, seed and snapshot of the project has its task in the dbt_build group.
    manifest = json.loads((tmp_path / "dbt-target" / "manifest.json").read_text())
    nodes = [
        node
        for node in manifest["nodes"].values()
        if node["resource_type"] in {"model", "seed", "snapshot"}
    ]
    suffix = {"model": "model_build", "seed": "seed_build", "snapshot": "snapshot_build"}
    expected = {f"dbt_build.{n['name']}_{suffix[n['resource_type']]}" for n in nodes}
    missing = expected - set(tasks)
    assert not missing, f"dbt nodes without a task: {sorted(missing)}"
    # Tests of several models run after all of them (a task of their own).
    detached = (
        "dbt_build.relationships_fct_orders_customer_unique_id"
        "__customer_unique_id__ref_dim_customers__test"
    )
    assert {
        "dbt_build.fct_orders_model_build",
        "dbt_build.dim_customers_model_build",
    } <= set(tasks[detached]["upstream"])

    # Dependencies: sensor -> load -> dbt; freshness and docs after the dbt build.
    assert tasks["wait_for_drop"]["upstream"] == []
    assert tasks["load_drop"]["upstream"] == ["wait_for_drop"]
    dbt_roots = [
        task_id
        for task_id, task in tasks.items()
        if task_id.startswith("dbt_build.") and "load_drop" in task["upstream"]
    ]
    assert "dbt_build.stg_olist__orders_model_build" in dbt_roots
    assert all(t.startswith("dbt_build.") for t in tasks["source_freshness"]["upstream"])
    assert tasks["docs_generate"]["upstream"] == ["source_freshness"]
    assert all(t.startswith("dbt_build.") for t in tasks["build_dashboards"]["upstream"])
    assert "olist dashboards" in tasks["build_dashboards"]["bash_command"]
    assert all(t.startswith("dbt_build.") for t in tasks["archive_run_results"]["upstream"])
    assert "dbt_build.fct_orders_model_build" in _ancestors(tasks, "archive_run_results")
    assert "dbt_build.stg_olist__orders_model_build" in _ancestors(
        tasks, "dbt_build.fct_orders_model_build"
    )

    # The sensor waits in reschedule mode, with a timeout; every task retries, has a
    # timeout (but the sensor, bounded by its own) and alerts on failure.
    sensor = tasks["wait_for_drop"]
    assert sensor["mode"] == "reschedule" and 0 < sensor["timeout"] <= 24 * 3600
    for task_id, task in tasks.items():
        assert task["on_failure_callback"] == ["olist_elt.ops.alerts.airflow_failure_callback"], (
            task_id
        )
        if task_id == "wait_for_drop":
            continue
        assert task["retries"] >= 1, f"{task_id}: no retries"
        assert task["retry_delay"] and task["retry_delay"] >= 60, task_id
        assert task["execution_timeout"] and task["execution_timeout"] <= 3600, task_id
    # The project venv's executables, never Airflow's.
    assert f"{PROJECT_BIN / 'olist'} load " in tasks["load_drop"]["bash_command"]
    assert "--date {{ ds }}" in tasks["load_drop"]["bash_command"]
    # Every dbt call is production: incremental models stay incremental and refuse a
    # changed schema, where dbt's development default would rebuild them whole.
    production = {"olist_environment": "production"}
    dbt_tasks = [task for task_id, task in tasks.items() if task_id.startswith("dbt_build.")]
    assert dbt_tasks and all(task["dbt_vars"] == production for task in dbt_tasks)
    for task_id in ("source_freshness", "docs_generate"):
        assert f"--vars '{json.dumps(production)}'" in tasks[task_id]["bash_command"], task_id


def _ancestors(tasks: dict[str, Any], task_id: str) -> set[str]:
    seen: set[str] = set()
    todo = list(tasks[task_id]["upstream"])
    while todo:
        current = todo.pop()
        if current not in seen:
            seen.add(current)
            todo += tasks[current]["upstream"]
    return seen


# --- the DAG runs ----------------------------------------------------------------------------


@pytest.mark.slow
def test_dag_runs_two_drop_days_end_to_end_and_alerts_on_a_failed_load(
    airflow_venv: Path, s3_env: S3Server, tmp_path: Path
) -> None:
    s3_server = s3_env  # the AWS variables set for this process too (replay writes to S3)
    clock = time.perf_counter()
    source = tmp_path / "generated"
    generate(source, scale=0.01, seed=42)
    local_drops = tmp_path / "drops"
    replay(source, local_drops, date_to=LAST_LOADED)
    bucket = s3_server.new_bucket("landing")
    drops_uri = f"s3://{bucket}/olist-drops/"
    replay(
        source, drops_uri, date_from=DAYS[0], date_to=BAD_DAY, endpoint_url=s3_server.endpoint_url
    )

    sns, sqs = s3_server.client("sns"), s3_server.client("sqs")
    topic_arn = sns.create_topic(Name=f"olist-alerts-{bucket}")["TopicArn"]
    queue_url = sqs.create_queue(QueueName=f"alerts-{bucket}")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn)

    aws_env = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": s3_server.region,
        "AWS_ENDPOINT_URL": s3_server.endpoint_url,
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_CONFIG_FILE": str(tmp_path / "no-aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "no-aws-credentials"),
    }
    airflow = make_airflow_home(
        tmp_path,
        {
            **aws_env,
            "OLIST_DROPS_URI": drops_uri,
            "OLIST_ALERT_TOPIC_ARN": topic_arn,
            "OLIST_DBT_SELECT": E2E_SELECT,
            "OLIST_DBT_DETACH_TESTS": "false",
            "OLIST_DAG_RETRIES": "0",
        },
    )
    database = tmp_path / "warehouse.duckdb"
    # The warehouse before the first DAG run: every earlier drop loaded.
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DBT_PROFILES_DIR", airflow.env["DBT_PROFILES_DIR"])
        reports = load_drops(str(local_drops), date_to=LAST_LOADED, target="duckdb")
    assert reports and all(report.ok for report in reports)
    log.info("prepared in %.1f s", time.perf_counter() - clock)

    for day in DAYS:
        clock = time.perf_counter()
        run = airflow.run("dags", "test", DAG_ID, day.isoformat())
        log.info("dags test %s: %.1f s", day, time.perf_counter() - clock)
        assert run.returncode == 0, f"DAG run of {day} failed:\n{_tail(run)}"

    with duckdb.connect(str(database), read_only=True) as connection:
        # The drops landed, once each, from S3.
        for day in DAYS:
            raw_orders = connection.execute(
                "select count(*) from raw_olist.orders where _ingest_date = ?", [day]
            ).fetchone()[0]
            drop_orders = _rows_in_s3(s3_server, bucket, f"olist-drops/ingest_date={day}/")
            assert raw_orders == drop_orders.get("olist_orders_dataset.csv", 0) > 0, day
        # The dbt nodes were built, the snapshot holds the customers.
        relations = {
            name
            for (name,) in connection.execute(
                "select table_name from information_schema.tables"
            ).fetchall()
        }
        assert set(E2E_MODELS) | {"customers_snapshot"} <= relations, sorted(relations)
        history_rows = connection.execute(
            "select count(*) from analytics_marts.dim_customers_history"
        ).fetchone()[0]
        customers = connection.execute(
            "select count(distinct customer_unique_id) from analytics_staging.stg_olist__customers"
        ).fetchone()[0]
        assert history_rows >= customers > 0
        # Each dbt task's run_results.json went into ops.dbt_run_results.
        results = connection.execute(
            "select run_label, resource_type, status, count(*) from ops.dbt_run_results "
            "group by all order by all"
        ).fetchall()
    labels = {label for label, *_ in results}
    assert labels == {day.isoformat() for day in DAYS}, results
    statuses = {(rtype, status) for _, rtype, status, _ in results}
    assert ("model", "success") in statuses and ("snapshot", "success") in statuses
    assert ("test", "pass") in statuses, results
    assert not {s for _, s in statuses} & {"error", "fail"}, results
    archived = sorted((tmp_path / "run-history").rglob("run_results.json"))
    assert len(archived) >= 2 * len(E2E_MODELS), archived
    assert (tmp_path / "docs" / "catalog.json").is_file(), "dbt docs generate wrote no catalog"

    # Running a day again changes nothing: its files are in the audit, the rows stay.
    rerun = airflow.run("tasks", "test", DAG_ID, "load_drop", DAYS[0].isoformat())
    assert rerun.returncode == 0, _tail(rerun)
    assert "skipped" in rerun.stdout + rerun.stderr
    with duckdb.connect(str(database), read_only=True) as connection:
        twice = connection.execute(
            "select count(*) - count(distinct order_id) from raw_olist.orders "
            "where _ingest_date = ?",
            [DAYS[0]],
        ).fetchone()[0]
    assert twice == 0

    # A corrupt drop: the load fails, the DAG run fails, and the alert reaches the queue.
    _corrupt_drop(s3_server, bucket, f"olist-drops/ingest_date={BAD_DAY}/")
    failed = airflow.run("dags", "test", DAG_ID, BAD_DAY.isoformat())
    assert failed.returncode != 0 or "failed" in (failed.stdout + failed.stderr).lower()
    message = _receive_alert(sqs, queue_url)
    assert "load_drop" in message["Subject"] and BAD_DAY.isoformat() in message["Subject"]
    body = message["Message"]
    assert "task: load_drop" in body, body
    assert "log: http" in body and "load_drop" in body.split("log: ", 1)[1], body
    assert "exit code" in body.lower() or "error" in body.lower(), body


def _rows_in_s3(s3_server: S3Server, bucket: str, prefix: str) -> dict[str, int]:
    client = s3_server.client()
    counts = {}
    for item in client.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", []):
        body = client.get_object(Bucket=bucket, Key=item["Key"])["Body"].read().decode()
        counts[item["Key"].rsplit("/", 1)[-1]] = max(len(body.strip().splitlines()) - 1, 0)
    return counts


def _corrupt_drop(s3_server: S3Server, bucket: str, prefix: str) -> None:
    """Replace the drop's orders file by one with the wrong header."""
    client = s3_server.client()
    keys = [i["Key"] for i in client.list_objects_v2(Bucket=bucket, Prefix=prefix)["Contents"]]
    key = next(k for k in keys if k.endswith("olist_orders_dataset.csv"))
    client.put_object(Bucket=bucket, Key=key, Body=b"not,the,orders,header\n1,2,3,4\n")


def _receive_alert(sqs: Any, queue_url: str) -> dict[str, Any]:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        messages = sqs.receive_message(QueueUrl=queue_url, WaitTimeSeconds=1).get("Messages", [])
        if messages:
            return json.loads(messages[0]["Body"])  # the SNS envelope
    raise AssertionError("no alert reached the SQS queue subscribed to the topic")


def _tail(run: subprocess.CompletedProcess[str], chars: int = 6000) -> str:
    return (run.stdout + run.stderr)[-chars:]


def test_airflow_venv_is_separate_from_dbt(airflow_venv: Path) -> None:
    """Airflow's venv has no dbt (conflicting pins); the project's has no Airflow."""
    assert not list((airflow_venv / "lib").glob("python*/site-packages/dbt/__init__.py"))
    assert not list((PROJECT_ROOT / ".venv" / "lib").glob("python*/site-packages/airflow"))
    assert shutil.which("airflow", path=str(PROJECT_BIN)) is None
