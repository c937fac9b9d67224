"""Load the nine Olist CSVs into the raw schema of a dbt profile output.

    olist-load data/olist                        # DuckDB (the profile's default output)
    olist-load s3://bucket/olist/ --target postgres
    olist-load s3://bucket/olist/ --target redshift --iam-role-arn arn:aws:iam::...:role/x
    olist-load data/olist --target postgres --dry-run   # print the SQL, connect to nothing

Daily drops (folders ingest_date=YYYY-MM-DD under a root, see olist-replay) are appended:

    olist-load --drops data/drops --pending              # every drop not loaded yet
    olist-load --drops s3://bucket/drops/ --date 2017-03-01 --target postgres
    olist-load --drops data/drops --from 2017-03-01 --to 2017-03-31

Exit status: 0 when every table loaded or was skipped, 1 when any table failed,
2 for a wrong profile, target or option.
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import sys
from collections.abc import Mapping
from typing import TextIO

from olist_elt.daily.drop_load import load_drops
from olist_elt.daily.drops import parse_day
from olist_elt.errors import ConfigError, LoadError
from olist_elt.load import audit
from olist_elt.load.loader import LoadReport, TableResult, load
from olist_elt.spec import DEFAULT_RAW_SCHEMA, OLIST_FILES


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="olist-load",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Unchanged sources are skipped (see the _load_runs audit table); --force reloads.",
    )
    parser.add_argument(
        "source", nargs="?", help="folder or s3://bucket/prefix/ holding the nine CSV files"
    )
    drops = parser.add_argument_group(
        "daily drops", "append drops <root>/ingest_date=YYYY-MM-DD/ instead of a full load"
    )
    drops.add_argument("--drops", metavar="ROOT", help="folder or s3://bucket/prefix/ of drops")
    drops.add_argument(
        "--date",
        type=parse_day,
        action="append",
        metavar="YYYY-MM-DD",
        help="load this drop (repeatable)",
    )
    drops.add_argument("--from", dest="date_from", type=parse_day, metavar="YYYY-MM-DD")
    drops.add_argument("--to", dest="date_to", type=parse_day, metavar="YYYY-MM-DD")
    drops.add_argument(
        "--pending", action="store_true", help="every drop not loaded yet, oldest first"
    )
    parser.add_argument("--target", help="output of the olist_elt profile (default: its target)")
    parser.add_argument(
        "--profiles-dir",
        help="folder of profiles.yml (default: $DBT_PROFILES_DIR, ./profiles.yml, ~/.dbt)",
    )
    parser.add_argument(
        "--schema",
        default=os.environ.get("OLIST_RAW_SCHEMA", DEFAULT_RAW_SCHEMA),
        help="raw schema to load into (default: $OLIST_RAW_SCHEMA or %(default)s)",
    )
    parser.add_argument(
        "--tables",
        help="comma-separated subset of: " + ", ".join(f.table for f in OLIST_FILES),
    )
    parser.add_argument("--force", action="store_true", help="reload unchanged tables too")
    parser.add_argument(
        "--dry-run", action="store_true", help="print the SQL it would run; connect to nothing"
    )
    parser.add_argument(
        "--endpoint-url", help="S3 endpoint (default: $AWS_ENDPOINT_URL or AWS itself)"
    )
    parser.add_argument(
        "--iam-role-arn", help="Redshift: role for COPY (default: $OLIST_REDSHIFT_COPY_ROLE_ARN)"
    )
    parser.add_argument("--region", help="Redshift: the S3 bucket's region (default: $AWS_REGION)")
    parser.add_argument(
        "--lock-wait",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="when another loader holds the target, wait this long for it (default: fail at once)",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log every statement")
    return parser


def _check_mode(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """One of a source or --drops; drop options only with --drops, and one way to pick days."""
    if (args.source is None) == (args.drops is None):
        parser.error("give either a source folder/URI (full load) or --drops ROOT")
    picking = [args.date, args.date_from or args.date_to, args.pending]
    if args.drops is None:
        if any(picking):
            parser.error("--date, --from, --to and --pending need --drops ROOT")
        return
    if not any(picking):
        parser.error("--drops needs --date, --from/--to or --pending")
    if args.date and (args.pending or args.date_from or args.date_to):
        parser.error("--date cannot be combined with --from, --to or --pending")
    if args.date_from and args.date_to and args.date_from > args.date_to:
        parser.error(f"--from {args.date_from} is after --to {args.date_to}")


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
        f"-- olist-load dry run: {report.target_type} output {report.target!r}, "
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


def load_main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    _check_mode(parser, args)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    protect_logs()
    # Failures are printed with each table's line; do not print them twice.
    if not args.verbose:
        logging.getLogger("olist_elt.load.loader").setLevel(logging.CRITICAL)
    progress = None if args.dry_run else (lambda r: print(format_result(r), flush=True))
    tables = [t.strip() for t in args.tables.split(",") if t.strip()] if args.tables else None
    common = {
        "target": args.target,
        "profiles_dir": args.profiles_dir,
        "schema": args.schema,
        "force": args.force,
        "dry_run": args.dry_run,
        "endpoint_url": args.endpoint_url,
        "tables": tables,
        "iam_role_arn": args.iam_role_arn,
        "region": args.region,
        "on_table": progress,
        "lock_wait": args.lock_wait,
    }
    try:
        if args.drops is not None:
            return _drops_main(args, common)
        report = load(source=args.source, **common)
    except ConfigError as exc:
        print(f"olist-load: {exc}", file=sys.stderr)
        return 2
    if args.dry_run:
        print_statements(report, sys.stdout)
        for result in report.tables:
            if result.error:
                print(f"-- {result.table}: {result.error}")
    print(report.summary(), file=sys.stderr if args.dry_run else sys.stdout)
    return 0 if report.ok else 1


def _drops_main(args: argparse.Namespace, common: dict[str, object]) -> int:
    def announce(report: LoadReport) -> None:
        if not args.dry_run:
            print(f"drop {report.ingest_date}  {report.source}", flush=True)

    try:
        reports = load_drops(
            args.drops,
            args.date,
            args.pending,
            date_from=args.date_from,
            date_to=args.date_to,
            on_drop=announce,
            **common,  # type: ignore[arg-type]
        )
    except ConfigError:
        raise
    except LoadError as exc:
        print(f"olist-load: {exc}", file=sys.stderr)
        return 1
    if args.dry_run:
        for report in reports:
            print_statements(report, sys.stdout)
            for result in report.tables:
                if result.error:
                    print(f"-- {report.ingest_date} {result.table}: {result.error}")
    print(drops_summary(reports), file=sys.stderr if args.dry_run else sys.stdout)
    return 0 if all(report.ok for report in reports) else 1


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


if __name__ == "__main__":
    sys.exit(load_main())
