"""What `olist load` prints: a line per table, the dry run's SQL, a summary of drops; and the
logging set-up that keeps credentials out of its log lines.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Mapping
from typing import TextIO

from olist_elt.load import audit
from olist_elt.load.loader import LoadReport, TableResult


def format_result(result: TableResult) -> str:
    line = (
        f"{result.table:<34} {result.rows_loaded:>10,} rows {result.bytes / 1e6:>8.1f} MB "
        f"{result.seconds:>7.2f} s  {result.status}"
    )
    if result.error:
        line += f"\n    {result.error}"
    if result.warning:
        line += f"\n    warning: {result.warning}"
    return line


def print_statements(report: LoadReport, out: TextIO) -> None:
    out.write(
        f"-- olist load dry run: {report.target_type} output {report.target!r}, "
        f"schema {report.schema}, source {report.source}\n"
    )
    for statement in report.statements:
        out.write(f"{statement};\n\n")


# botocore's debug log prints signed requests (session token included) and urllib3's
# prints URLs: -v shows the loader's own statements, not theirs.
_NOISY_LOGGERS = ("botocore", "boto3", "s3transfer", "urllib3", "redshift_connector")
# Variables whose values are credentials, by name.
_SECRET_NAME = re.compile(r"SECRET|PASSWORD|PASSWD|TOKEN|CREDENTIAL|PRIVATE", re.IGNORECASE)


class RedactSecrets(logging.Filter):
    """Replace the values of credential variables in log records, whatever logged them."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        super().__init__()
        self.secrets = sorted(
            (v for k, v in environ.items() if _SECRET_NAME.search(k) and len(v) >= 6),
            key=len,
            reverse=True,
        )

    def filter(self, record: logging.LogRecord) -> bool:
        if self.secrets:
            message = record.getMessage()
            if any(secret in message for secret in self.secrets):
                for secret in self.secrets:
                    message = message.replace(secret, "***")
                record.msg, record.args = message, ()
        return True


def protect_logs() -> None:
    for name in _NOISY_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    redact = RedactSecrets(os.environ)
    for handler in logging.getLogger().handlers:
        handler.addFilter(redact)


def drops_summary(reports: list[LoadReport]) -> str:
    if not reports:
        return "no drop to load (all loaded already, or none selected)"
    results = [result for report in reports for result in report.tables]
    counts = {s: sum(r.status == s for r in results) for s in audit.STATUSES}
    parts = [f"{n} {s}" for s, n in counts.items() if n or s == audit.FAILED]
    rows = sum(r.rows_loaded for r in results)
    seconds = sum(report.seconds for report in reports)
    first, last = reports[0], reports[-1]
    return (
        f"{len(reports)} drops ({first.ingest_date} to {last.ingest_date}), tables: "
        f"{', '.join(parts)}: {rows:,} rows in {seconds:.2f} s into {first.target_type} "
        f"schema {first.schema}"
    )
