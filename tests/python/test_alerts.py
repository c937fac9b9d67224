"""Failure alerts reach an SNS topic: an SQS queue subscribed to it receives them (moto).

The Airflow callback is called with a task context shaped like Airflow's (the DAG's own
run, in test_airflow_dag.py, checks it from a real failed task); olist daily is run through
the wrapper with a drop that cannot load, and once with a good drop (no alert).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from dbt_cli import write_profiles
from olist_elt.ops.alerts import (
    Alert,
    airflow_failure_callback,
    drop_has_files,
    publish,
    run_daily_with_alert,
)
from s3_server import S3Server


def subscribed_queue(s3_env: S3Server) -> tuple[str, Any, str]:
    """A new SNS topic with a new SQS queue subscribed: (topic ARN, sqs client, queue URL)."""
    sns, sqs = s3_env.client("sns"), s3_env.client("sqs")
    name = s3_env.new_bucket("alerts")  # a unique name
    topic_arn = sns.create_topic(Name=name)["TopicArn"]
    queue_url = sqs.create_queue(QueueName=name)["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn)
    return topic_arn, sqs, queue_url


def received(sqs: Any, queue_url: str, wait: float = 10) -> list[dict[str, Any]]:
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        messages = sqs.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1
        ).get("Messages", [])
        if messages:
            return [json.loads(m["Body"]) for m in messages]
    return []


def test_airflow_callback_publishes_task_failure_and_log_link(
    s3_env: S3Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    topic_arn, sqs, queue_url = subscribed_queue(s3_env)
    monkeypatch.setenv("OLIST_ALERT_TOPIC_ARN", topic_arn)
    link = "http://airflow.example:8080/dags/olist_daily/runs/scheduled__2018-08-15/tasks/load_drop"
    ti = SimpleNamespace(dag_id="olist_daily", task_id="load_drop", log_url=link, run_id="r1")
    context = {
        "task_instance": ti,
        "exception": RuntimeError("row count mismatch for table orders"),
        "run_id": "scheduled__2018-08-15T00:00:00+00:00",
        "ds": "2018-08-15",
    }

    airflow_failure_callback(context)

    [envelope] = received(sqs, queue_url)
    assert envelope["Subject"] == "olist-elt FAILED: olist_daily.load_drop (2018-08-15)"
    body = envelope["Message"]
    assert "task: load_drop" in body
    assert "RuntimeError: row count mismatch for table orders" in body
    assert f"log: {link}" in body
    assert envelope["MessageAttributes"]["task"]["Value"] == "load_drop"


def test_callback_never_raises_when_the_topic_is_unreachable(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("OLIST_ALERT_TOPIC_ARN", "arn:aws:sns:us-east-1:123456789012:nope")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # nothing listens there
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "x")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "x")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    ti = SimpleNamespace(dag_id="olist_daily", task_id="docs_generate", log_url="", run_id="r")
    airflow_failure_callback({"task_instance": ti, "exception": ValueError("x")})
    assert "could not publish the failure alert" in caplog.text


def test_no_topic_means_logged_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OLIST_ALERT_TOPIC_ARN", raising=False)
    monkeypatch.delenv("OLIST_ALERT_SLACK_WEBHOOK", raising=False)
    alert = Alert(job="olist-daily", task="daily run", failure="boom", link="here")
    assert publish(alert) is None


def test_sensor_sees_a_drop_only_when_its_prefix_has_objects(s3_env: S3Server) -> None:
    bucket = s3_env.new_bucket()
    client = s3_env.client()
    client.put_object(Bucket=bucket, Key="drops/ingest_date=2018-08-15/x.csv", Body=b"a\n1\n")
    client.put_object(Bucket=bucket, Key="drops/ingest_date=2018-08-160/x.csv", Body=b"a\n1\n")
    assert drop_has_files(f"s3://{bucket}/drops/", "2018-08-15")
    assert not drop_has_files(f"s3://{bucket}/drops/", "2018-08-16")
    assert not drop_has_files(f"s3://{bucket}/other/", "2018-08-15")
    with pytest.raises(ValueError, match="s3://"):
        drop_has_files("/local/folder", "2018-08-15")


@pytest.mark.slow
def test_olist_daily_wrapper_alerts_when_a_day_fails(
    s3_env: S3Server,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from olist_elt.daily.replay import replay
    from olist_elt.generate.dataset import generate

    topic_arn, sqs, queue_url = subscribed_queue(s3_env)
    profiles = write_profiles(tmp_path / "profiles", tmp_path / "w.duckdb", threads=1)
    monkeypatch.setenv("DBT_PROFILES_DIR", str(profiles))
    source, drops = tmp_path / "generated", tmp_path / "drops"
    generate(source, scale=0.01, seed=42)
    replay(source, drops, date_to="2016-10-17")  # type: ignore[arg-type]
    days = sorted(p.name.split("=", 1)[1] for p in drops.iterdir())
    # Every file of the day unreadable: nothing loads, so olist daily fails before dbt.
    for path in (drops / f"ingest_date={days[-1]}").iterdir():
        path.write_text("order_id,wrong_header\n1,2\n")

    status = run_daily_with_alert(
        ["--drops", str(drops), "--date", days[-1], "--skip-tests"],
        topic_arn=topic_arn,
        link="https://ci.example/job/42",
    )
    output = capsys.readouterr().out

    assert status == 1, output
    [envelope] = received(sqs, queue_url)
    assert envelope["Subject"] == f"olist-elt FAILED: olist-daily.daily run ({days[-1]})"
    body = envelope["Message"]
    assert "log: https://ci.example/job/42" in body
    assert "header" in body.lower(), body
    # The wrapper still shows the daily run's own output.
    assert "FAILED" in output


def test_olist_daily_alert_covers_a_wrong_option(
    s3_env: S3Server, capsys: pytest.CaptureFixture[str]
) -> None:
    """`olist daily --alert`: a day written wrong is alerted too, with the one-line error."""
    from olist_elt.cli import main

    topic_arn, sqs, queue_url = subscribed_queue(s3_env)
    argv = ["daily", "--alert", "--alert-topic", topic_arn, "--run-url", "https://ci/7"]
    status = main([*argv, "--drops", "data/drops", "--date", "2018-8-25"])

    assert status == 2
    error = "olist daily: error: --date: not a date: '2018-8-25' (expected YYYY-MM-DD)"
    assert capsys.readouterr().err == error + "\n"
    [envelope] = received(sqs, queue_url)
    assert envelope["Subject"] == "olist-elt FAILED: olist-daily.olist-daily options (2018-8-25)"
    assert error in envelope["Message"]
    assert "log: https://ci/7" in envelope["Message"]


def test_slack_webhook_receives_the_alert(monkeypatch: pytest.MonkeyPatch) -> None:
    """An incoming-webhook stand-in on 127.0.0.1 gets the subject, the link and the failure."""
    import http.server
    import threading

    bodies: list[dict[str, Any]] = []

    class Webhook(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers["Content-Length"])
            bodies.append(json.loads(self.rfile.read(length)))
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: object) -> None:  # keep test output quiet
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Webhook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.delenv("OLIST_ALERT_TOPIC_ARN", raising=False)
    try:
        alert = Alert(
            job="olist_daily",
            task="dbt_build.fct_orders_model_build",
            failure="unique_fct_orders_order_id: Got 2 results",
            link="http://airflow.example/log",
            ingest_date="2018-08-15",
        )
        assert publish(alert, slack_webhook=f"http://127.0.0.1:{server.server_port}/hook") is None
    finally:
        server.shutdown()
        thread.join(timeout=5)
    [body] = bodies
    assert alert.subject in body["text"]
    assert "http://airflow.example/log" in body["text"]
    assert "Got 2 results" in body["text"]
