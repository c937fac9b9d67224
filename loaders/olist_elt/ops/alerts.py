"""Failure alerts: what failed, and a link to the run, sent to an SNS topic (and Slack).

Used from two places with the same message:

- the Airflow DAG (orchestration/dags/olist_daily.py): ``airflow_failure_callback`` is every
  task's ``on_failure_callback``; the link is the task try's log URL;
- without a scheduler: ``olist daily --alert [--alert-topic ARN] <daily options>`` (what
  `make daily` runs) runs the daily job and, if it fails, publishes the failed steps.

Only the standard library and boto3 are imported, so the Airflow virtualenv (which has no
dbt) can import this module. The topic comes from ``--alert-topic`` or OLIST_ALERT_TOPIC_ARN,
the optional Slack incoming webhook from OLIST_ALERT_SLACK_WEBHOOK; with neither, the alert
is only logged. boto3 takes credentials, region and AWS_ENDPOINT_URL from its usual chain.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import socket
import sys
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any, TextIO

log = logging.getLogger("olist_elt.ops.alerts")

TOPIC_ENV = "OLIST_ALERT_TOPIC_ARN"
SLACK_ENV = "OLIST_ALERT_SLACK_WEBHOOK"
SUBJECT_LIMIT = 100  # SNS rejects longer subjects
FAILURE_LIMIT = 4000  # characters of failure text kept in a message


@dataclass(frozen=True)
class Alert:
    """One failure: which job and step, what went wrong, where to look."""

    job: str  # DAG id, or "olist-daily" (the name subscribers filter on)
    task: str  # task id, or the failed step
    failure: str
    link: str  # the run's log URL (Airflow) or where the output is
    run_id: str = ""
    ingest_date: str = ""

    @property
    def subject(self) -> str:
        day = f" ({self.ingest_date})" if self.ingest_date else ""
        return f"olist-elt FAILED: {self.job}.{self.task}{day}"[:SUBJECT_LIMIT]

    def text(self) -> str:
        lines = [
            self.subject,
            f"job: {self.job}",
            f"task: {self.task}",
            f"run: {self.run_id}" if self.run_id else "",
            f"drop date: {self.ingest_date}" if self.ingest_date else "",
            f"log: {self.link}",
            "",
            "what failed:",
            self.failure[-FAILURE_LIMIT:],
        ]
        return "\n".join(line for line in lines if line is not None)


def publish(
    alert: Alert,
    topic_arn: str | None = None,
    slack_webhook: str | None = None,
    sns_client: Any = None,
) -> str | None:
    """Send the alert; return the SNS message id (None when no topic is configured)."""
    topic_arn = topic_arn or os.environ.get(TOPIC_ENV) or None
    slack_webhook = slack_webhook or os.environ.get(SLACK_ENV) or None
    log.error("%s\n%s", alert.subject, alert.failure)
    message_id = None
    if topic_arn:
        if sns_client is None:
            import boto3

            sns_client = boto3.client("sns", region_name=_region(topic_arn))
        response = sns_client.publish(
            TopicArn=topic_arn,
            Subject=alert.subject,
            Message=alert.text(),
            # Subscribers can filter on these without parsing the text.
            MessageAttributes={
                key: {"DataType": "String", "StringValue": value}
                for key, value in asdict(alert).items()
                if value and key != "failure"
            },
        )
        message_id = response["MessageId"]
    if slack_webhook:
        _post_slack(slack_webhook, alert)
    return message_id


def _region(topic_arn: str) -> str | None:
    # arn:aws:sns:<region>:<account>:<name>: the topic's region, whatever the default is.
    parts = topic_arn.split(":")
    return parts[3] if len(parts) > 3 and parts[3] else None


def _post_slack(webhook: str, alert: Alert) -> None:
    body = json.dumps({"text": f"*{alert.subject}*\n{alert.link}\n```{alert.failure[-2500:]}```"})
    request = urllib.request.Request(
        webhook, data=body.encode(), headers={"Content-Type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        response.read()


# --- Airflow ---------------------------------------------------------------------------------


def airflow_failure_callback(context: Mapping[str, Any]) -> None:
    """``on_failure_callback`` of the DAG's tasks: publish what failed with the log URL.

    Never raises: a broken alert channel must not hide the task's own failure.
    """
    try:
        publish(alert_from_airflow_context(context))
    except Exception:
        log.exception("could not publish the failure alert")


def alert_from_airflow_context(context: Mapping[str, Any]) -> Alert:
    ti = context.get("task_instance") or context.get("ti")
    exception = context.get("exception")
    failure = f"{type(exception).__name__}: {exception}" if exception else "task failed"
    return Alert(
        job=str(getattr(ti, "dag_id", "") or context.get("dag_run", "")),
        task=str(getattr(ti, "task_id", "unknown task")),
        failure=failure,
        link=str(getattr(ti, "log_url", "") or ""),
        run_id=str(context.get("run_id") or getattr(ti, "run_id", "") or ""),
        ingest_date=str(context.get("ds") or ""),
    )


def drop_has_files(drops_uri: str, ingest_date: str) -> bool:
    """True when s3://bucket/prefix/ingest_date=<day>/ holds at least one object.

    The DAG's sensor: one LIST of at most one key, so poking is cheap.
    """
    import boto3

    if not drops_uri.startswith("s3://"):
        raise ValueError(f"OLIST_DROPS_URI must be s3://bucket/prefix/, got {drops_uri!r}")
    bucket, _, prefix = drops_uri[len("s3://") :].partition("/")
    prefix = f"{prefix.rstrip('/')}/" if prefix.strip("/") else ""
    key_prefix = f"{prefix}ingest_date={ingest_date}/"
    response = boto3.client("s3").list_objects_v2(Bucket=bucket, Prefix=key_prefix, MaxKeys=1)
    found = response.get("KeyCount", 0) > 0
    log.info("s3://%s/%s: %s", bucket, key_prefix, "present" if found else "not there yet")
    return found


# --- olist daily without a scheduler --------------------------------------------------------


class _Tee(io.TextIOBase):
    """Writes to the real stream and keeps a copy, so the alert can quote the failures."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.copy = io.StringIO()

    def write(self, text: str) -> int:
        self.stream.write(text)
        return self.copy.write(text)

    def flush(self) -> None:
        self.stream.flush()


def run_with_alert(
    job: Callable[[], int],
    *,
    dates: Sequence[str] = (),
    topic_arn: str | None = None,
    link: str | None = None,
) -> int:
    """Run ``job`` (the daily run; its exit status); alert with its output when not 0."""
    out, err = _Tee(sys.stdout), _Tee(sys.stderr)
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):  # type: ignore[type-var]
        try:
            status = job()
        except SystemExit as exc:
            status = exc.code if isinstance(exc.code, int) else 2
    if status != 0:
        publish(
            Alert(
                # The job and task names predate `olist daily`: subscribers filter on them.
                job="olist-daily",
                task="daily run" if status == 1 else "olist-daily options",
                # The daily run's own report: each date, each failed table or dbt node.
                failure=(out.copy.getvalue() + err.copy.getvalue()).strip(),
                link=link or os.environ.get("OLIST_RUN_URL") or _where(),
                ingest_date=",".join(dates),
            ),
            topic_arn=topic_arn,
        )
    return status


def run_daily_with_alert(
    daily_args: list[str], topic_arn: str | None = None, link: str | None = None
) -> int:
    """``olist daily <daily_args>``; alert when its exit status is not 0."""
    from olist_elt import cli

    return run_with_alert(
        lambda: cli.main(["daily", *daily_args]),
        dates=[daily_args[i + 1] for i, a in enumerate(daily_args[:-1]) if a == "--date"],
        topic_arn=topic_arn,
        link=link,
    )


def _where() -> str:
    return f"{socket.gethostname()}:{os.getcwd()} (olist daily output)"
