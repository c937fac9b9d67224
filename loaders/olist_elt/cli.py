"""Load the nine Olist CSVs into the raw schema of a dbt profile output.

    olist-load data/olist                        # DuckDB (the profile's default output)
    olist-load s3://bucket/olist/ --target postgres
    olist-load s3://bucket/olist/ --target redshift --iam-role-arn arn:aws:iam::...:role/x
    olist-load data/olist --target postgres --dry-run   # print the SQL, connect to nothing

Exit status: 0 when every table loaded or was skipped, 1 when any table failed,
2 for a wrong profile, target or option.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from typing import TextIO

from olist_elt.errors import ConfigError
from olist_elt.load import LoadReport, TableResult, load
from olist_elt.spec import DEFAULT_RAW_SCHEMA, OLIST_FILES


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="olist-load",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Unchanged sources are skipped (see the _load_runs audit table); --force reloads.",
    )
    parser.add_argument("source", help="folder or s3://bucket/prefix/ holding the nine CSV files")
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
    parser.add_argument("-v", "--verbose", action="store_true", help="log every statement")
    return parser


def format_result(result: TableResult) -> str:
    line = (
        f"{result.table:<34} {result.rows_loaded:>10,} rows {result.bytes / 1e6:>8.1f} MB "
        f"{result.seconds:>7.2f} s  {result.status}"
    )
    if result.error:
        line += f"\n    {result.error}"
    return line


def print_statements(report: LoadReport, out: TextIO) -> None:
    out.write(
        f"-- olist-load dry run: {report.target_type} output {report.target!r}, "
        f"schema {report.schema}, source {report.source}\n"
    )
    for statement in report.statements:
        out.write(f"{statement};\n\n")


def load_main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    # Failures are printed with each table's line; do not print them twice.
    if not args.verbose:
        logging.getLogger("olist_elt.load").setLevel(logging.CRITICAL)
    progress = None if args.dry_run else (lambda r: print(format_result(r), flush=True))
    tables = [t.strip() for t in args.tables.split(",") if t.strip()] if args.tables else None
    try:
        report = load(
            source=args.source,
            target=args.target,
            profiles_dir=args.profiles_dir,
            schema=args.schema,
            force=args.force,
            dry_run=args.dry_run,
            endpoint_url=args.endpoint_url,
            tables=tables,
            iam_role_arn=args.iam_role_arn,
            region=args.region,
            on_table=progress,
        )
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


if __name__ == "__main__":
    sys.exit(load_main())
