"""`olist`: the one command line of olist-elt. Each subcommand calls a plain function.

Every option that several subcommands share is declared once, in a parent parser below, and
read into one olist_elt.settings.Settings (option > environment variable > default) that goes
to the loader and to every dbt invocation. A wrong option or value is one line on stderr
naming it, exit status 2.

argparse and not click (which dbt installs anyway): parent parsers already declare a shared
option once, and click's errors print a usage block that would need the same override.
"""

from __future__ import annotations

import argparse
import logging
import math
import os
import sys
import time
from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path
from typing import Any, NoReturn

from olist_elt.daily.drops import parse_day
from olist_elt.settings import Settings
from olist_elt.spec import DEFAULT_RAW_SCHEMA, OLIST_FILES

LOG_FORMAT = "%(levelname)s %(name)s: %(message)s"

LOAD_DESCRIPTION = """\
Load the nine Olist CSVs into the raw schema of a dbt profile output.

    olist load data/olist                        # DuckDB (the profile's default output)
    olist load s3://bucket/olist/ --target postgres
    olist load s3://bucket/olist/ --target redshift --iam-role-arn arn:aws:iam::...:role/x
    olist load data/olist --target postgres --dry-run   # print the SQL, connect to nothing

Daily drops (folders ingest_date=YYYY-MM-DD under a root, see olist replay) are appended:

    olist load --drops data/drops --pending              # every drop not loaded yet
    olist load --drops s3://bucket/drops/ --date 2017-03-01 --target postgres
    olist load --drops data/drops --from 2017-03-01 --to 2017-03-31

Exit status: 0 when every table loaded or was skipped, 1 when any table failed,
2 for a wrong profile, target or option.
"""

# subcommand -> (one-line summary, example): `olist --help` lists them in this order.
SUBCOMMANDS = {
    "run": ("generate (or take) the files, load them, dbt build", "olist run --scale 0.1"),
    "load": ("load the nine CSVs, or daily drops, into the raw schema", "olist load data/olist"),
    "generate": ("write the nine files, deterministic for a scale and seed",
                 "olist generate --scale 0.01 --out data/small"),
    "replay": ("cut the nine files into daily drops",
               "olist replay data/generated/scale=1-seed=42 data/drops"),
    "daily": ("load the day's drop, then build what it changed",
              "olist daily --drops data/drops --date 2018-08-25"),
    "history": ("keep dbt's run_results.json as files and warehouse rows",
                "olist history archive target/run_results.json"),
    "diff": ("what the checkout's change does to the data, against a baseline",
             "olist diff --baseline prod-state"),
    "dashboards": ("build the dashboard pages from the marts",
                   "olist dashboards --target duckdb"),
    "roles": ("warehouse roles: apply on PostgreSQL, or print Redshift's statements",
              "olist roles apply --member transformer=dbt_user --check"),
    "pg": ("a throwaway local PostgreSQL server: up, env, down", "olist pg up"),
}  # fmt: skip


class UsageError(Exception):
    """A wrong option or value; str() is the one line printed."""


class Parser(argparse.ArgumentParser):
    """argparse with one-line errors, raised (main prints them) instead of a usage dump."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("allow_abbrev", False)  # an abbreviation today is a clash tomorrow
        kwargs.setdefault("formatter_class", argparse.RawDescriptionHelpFormatter)
        super().__init__(**kwargs)

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: error: {message.removeprefix('argument ')}")


# --- value types: each error names what was expected and what came -----------------------------


def positive_number(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (value > 0 and math.isfinite(value)):
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
    return value


def non_negative_number(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (value >= 0 and math.isfinite(value)):
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {text!r}")
    return value


def integer(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None


# AWS advises COPY files of 1 MB to 1 GB after compression (docs/redshift.md).
COPY_PART_MAX_BYTES = 1 << 30


def positive_integer(text: str) -> int:
    value = integer(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {text!r}")
    return value


def port_number(text: str) -> int:
    value = integer(text)
    if not 0 < value < 65536:
        raise argparse.ArgumentTypeError(f"expected a port from 1 to 65535, got {text!r}")
    return value


def day(text: str) -> date:
    try:
        return parse_day(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


# --- the shared options, each declared once ------------------------------------------------------


def _warehouse_options() -> argparse.ArgumentParser:
    parent = Parser(add_help=False)
    group = parent.add_argument_group("warehouse")
    group.add_argument("--target", help="output of the olist_elt profile (default: $OLIST_TARGET, "
                       "else the profile's own target)")  # fmt: skip
    group.add_argument(
        "--profiles-dir",
        metavar="DIR",
        help="folder of profiles.yml (default: $DBT_PROFILES_DIR, ./profiles.yml, ~/.dbt)",
    )
    group.add_argument(
        "--schema",
        help=f"raw schema, loaded and read by dbt (default: $OLIST_RAW_SCHEMA or "
        f"{DEFAULT_RAW_SCHEMA})",
    )
    return parent


def _project_options() -> argparse.ArgumentParser:
    parent = Parser(add_help=False)
    parent.add_argument(
        "--project-dir",
        metavar="DIR",
        help="dbt project (default: $OLIST_PROJECT_DIR, else this repository)",
    )
    return parent


def _s3_options() -> argparse.ArgumentParser:
    parent = Parser(add_help=False)
    parent.add_argument(
        "--endpoint-url", metavar="URL", help="S3 endpoint (default: $AWS_ENDPOINT_URL or AWS)"
    )
    return parent


def _day_options() -> argparse.ArgumentParser:
    parent = Parser(add_help=False)
    group = parent.add_argument_group(
        "which drops", "folders <root>/ingest_date=YYYY-MM-DD/; one of --date, --from/--to, "
        "--pending (which --from/--to narrow)",
    )  # fmt: skip
    group.add_argument("--date", type=day, action="append", metavar="YYYY-MM-DD",
                       help="this drop (repeatable)")  # fmt: skip
    group.add_argument("--from", dest="date_from", type=day, metavar="YYYY-MM-DD")
    group.add_argument("--to", dest="date_to", type=day, metavar="YYYY-MM-DD")
    group.add_argument(
        "--pending", action="store_true", help="every drop not loaded yet, oldest first"
    )
    return parent


def _generator_options() -> argparse.ArgumentParser:
    parent = Parser(add_help=False)
    parent.add_argument(
        "--scale",
        type=positive_number,
        default=1.0,
        help="generator scale: 1 = real row counts (99,441 orders), 0.01 = small fixture",
    )
    parent.add_argument("--seed", type=integer, default=42, help="same seed, same bytes")
    return parent


def _force_option() -> argparse.ArgumentParser:
    parent = Parser(add_help=False)
    parent.add_argument(
        "--force", action="store_true", help="reload files loaded before (default: skip them)"
    )
    return parent


def _verbose_option() -> argparse.ArgumentParser:
    parent = Parser(add_help=False)
    parent.add_argument("-v", "--verbose", action="store_true", help="log every statement")
    return parent


def _alert_options() -> argparse.ArgumentParser:
    parent = Parser(add_help=False)
    group = parent.add_argument_group("alerts")
    group.add_argument(
        "--alert",
        action="store_true",
        help="on failure (a wrong option too), publish the output to SNS and Slack "
        "($OLIST_ALERT_SLACK_WEBHOOK)",
    )
    group.add_argument(
        "--alert-topic", metavar="ARN", help="SNS topic (default: $OLIST_ALERT_TOPIC_ARN)"
    )
    group.add_argument(
        "--run-url", metavar="URL", help="link to this run's output (default: $OLIST_RUN_URL)"
    )
    return parent


def settings_from(args: argparse.Namespace) -> Settings:
    """The shared options of a parsed command line, resolved against the environment."""
    return Settings.resolve(
        {
            "target": getattr(args, "target", None),
            "profiles_dir": getattr(args, "profiles_dir", None),
            "raw_schema": getattr(args, "schema", None),
            "endpoint_url": getattr(args, "endpoint_url", None),
            "project_dir": getattr(args, "project_dir", None),
            "dates": getattr(args, "date", None),
            "date_from": getattr(args, "date_from", None),
            "date_to": getattr(args, "date_to", None),
            "pending": getattr(args, "pending", None) or None,
        }
    )


def check_days(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """One way to pick the drops: --date, or --from/--to, or --pending (with --from/--to)."""
    if not (args.date or args.date_from or args.date_to or args.pending):
        parser.error("--drops needs --date, --from/--to or --pending")
    if args.date and (args.pending or args.date_from or args.date_to):
        parser.error("--date cannot be combined with --from, --to or --pending")
    if args.date_from and args.date_to and args.date_from > args.date_to:
        parser.error(f"--from {args.date_from} is after --to {args.date_to}")


# --- subcommands ---------------------------------------------------------------------------------


def _load(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    from olist_elt.errors import ConfigError, LoadError
    from olist_elt.load import output
    from olist_elt.load.loader import load

    if (args.source is None) == (args.drops is None):
        parser.error("give either a source folder/URI (full load) or --drops ROOT")
    if args.drops is None:
        if args.date or args.date_from or args.date_to or args.pending:
            parser.error("--date, --from, --to and --pending need --drops ROOT")
    else:
        check_days(parser, args)
    settings = settings_from(args)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING, format=LOG_FORMAT)
    output.protect_logs()
    # Failures are printed with each table's line; do not print them twice.
    if not args.verbose:
        logging.getLogger("olist_elt.load.loader").setLevel(logging.CRITICAL)
    progress = None if args.dry_run else (lambda r: print(output.format_result(r), flush=True))
    tables = [t.strip() for t in args.tables.split(",") if t.strip()] if args.tables else None
    common = {
        **settings.load_options(),
        "force": args.force,
        "dry_run": args.dry_run,
        "tables": tables,
        "iam_role_arn": args.iam_role_arn,
        "region": args.region,
        "on_table": progress,
        "lock_wait": args.lock_wait,
    }
    try:
        if args.drops is not None:
            return _load_drops(args, settings, common)
        report = load(source=args.source, **common)
    except ConfigError as exc:
        print(f"olist load: {exc}", file=sys.stderr)
        return 2
    except LoadError as exc:
        print(f"olist load: {exc}", file=sys.stderr)
        return 1
    if args.dry_run:
        output.print_statements(report, sys.stdout)
        for result in report.tables:
            if result.error:
                print(f"-- {result.table}: {result.error}")
    print(report.summary(), file=sys.stderr if args.dry_run else sys.stdout)
    return 0 if report.ok else 1


def _load_drops(args: argparse.Namespace, settings: Settings, common: dict[str, Any]) -> int:
    from olist_elt.daily.drop_load import load_drops
    from olist_elt.errors import ConfigError, LoadError
    from olist_elt.load import output
    from olist_elt.load.loader import LoadReport

    def announce(report: LoadReport) -> None:
        if not args.dry_run:
            print(f"drop {report.ingest_date}  {report.source}", flush=True)

    try:
        reports = load_drops(
            args.drops,
            list(settings.dates) or None,
            settings.pending,
            date_from=settings.date_from,
            date_to=settings.date_to,
            on_drop=announce,
            **common,
        )
    except ConfigError:
        raise
    except LoadError as exc:
        print(f"olist load: {exc}", file=sys.stderr)
        return 1
    if args.dry_run:
        for report in reports:
            output.print_statements(report, sys.stdout)
            for result in report.tables:
                if result.error:
                    print(f"-- {report.ingest_date} {result.table}: {result.error}")
    print(output.drops_summary(reports), file=sys.stderr if args.dry_run else sys.stdout)
    return 0 if all(report.ok for report in reports) else 1


def _bytes(count: int) -> str:
    return f"{count / 1e6:,.1f} MB" if count >= 1e6 else f"{count / 1e3:,.1f} kB"


def _generate(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    from olist_elt.errors import SourceError
    from olist_elt.generate.dataset import generate_to

    logging.basicConfig(level=logging.INFO, format=LOG_FORMAT)
    sizes: dict[str, int] = {}
    started = time.perf_counter()
    try:
        rows = generate_to(
            args.out,
            scale=args.scale,
            seed=args.seed,
            gzip=args.gzip,
            parts=args.parts,
            endpoint_url=args.endpoint_url,
            on_file=lambda path: sizes.__setitem__(path.name, path.stat().st_size),
        )
    except SourceError as exc:
        print(f"olist generate: {exc}", file=sys.stderr)
        return 1
    elapsed = time.perf_counter() - started
    out = args.out.rstrip("/")
    for spec in sorted(OLIST_FILES, key=lambda f: f.file_name):
        files = sorted(n for n in sizes if spec.name_pattern.match(n))
        where = f"{out}/{files[0]}"
        if len(files) > 1:
            suffix = ".csv.gz" if args.gzip else ".csv"
            low, high = min(sizes[n] for n in files), max(sizes[n] for n in files)
            where = (
                f"{out}/{spec.stem}_part*{suffix}  ({len(files)} parts of "
                f"{_bytes(low)} to {_bytes(high)})"
            )
        print(f"{rows[spec.file_name]:>10,}  {where}")
    if args.gzip and max(sizes.values()) > COPY_PART_MAX_BYTES:
        print(
            "olist generate: a file is over 1 GB compressed, the most AWS advises per file "
            "for Redshift COPY: pass a larger --parts",
            file=sys.stderr,
        )
    print(
        f"{sum(rows.values()):>10,}  rows in {elapsed:.1f} s (scale {args.scale:g}, "
        f"seed {args.seed})"
    )
    return 0


def _run(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    from olist_elt import pipeline

    logging.basicConfig(level=logging.WARNING, format=LOG_FORMAT)
    return pipeline.run(
        settings_from(args),
        source=args.source or os.environ.get("OLIST_SOURCE") or None,
        scale=args.scale,
        seed=args.seed,
        force=args.force,
    )


def _replay(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    from olist_elt.daily.replay import iter_counts, replay
    from olist_elt.errors import LoadError

    if args.date_from and args.date_to and args.date_from > args.date_to:
        parser.error(f"--from {args.date_from} is after --to {args.date_to}")
    settings = settings_from(args)
    logging.basicConfig(level=logging.WARNING, format=LOG_FORMAT)
    try:
        result = replay(
            args.source,
            args.out,
            date_from=settings.date_from,
            date_to=settings.date_to,
            gzip=args.gzip,
            endpoint_url=settings.endpoint_url,
        )
    except LoadError as exc:
        print(f"olist replay: {exc}", file=sys.stderr)
        return 1
    for line in iter_counts(result):
        print(line)
    print(result.summary())
    return 0


def _daily(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    """The daily run; main() wraps it (parsing included) in the alert of --alert."""
    from olist_elt.daily.run import DbtSession, format_step, run_daily
    from olist_elt.errors import ConfigError, LoadError

    check_days(parser, args)
    settings = settings_from(args)

    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format=LOG_FORMAT)
    try:
        run = run_daily(
            args.drops,
            list(settings.dates) or None,
            date_from=settings.date_from,
            date_to=settings.date_to,
            pending=settings.pending,
            settings=settings,
            force=args.force,
            full_refresh=args.full_refresh,
            single_build=args.single_build,
            tests="none" if args.skip_tests else "all" if args.all_tests else "daily",
            deploy=args.deploy,
            keep_going=args.keep_going,
            session=DbtSession(
                settings,
                quiet=not args.verbose,
                debug_log=args.verbose,
                write_artifacts=args.write_artifacts,
            ),
            on_step=lambda step: print(format_step(step), flush=True),
        )
    except (ConfigError, LoadError) as exc:
        print(f"olist daily: {exc}", file=sys.stderr)
        return 2 if isinstance(exc, ConfigError) else 1
    print(f"{len(run.steps)} steps in {run.seconds:.1f} s: {'ok' if run.ok else 'FAILED'}")
    return 0 if run.ok else 1


def _history(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    from olist_elt.ops import run_history

    logging.basicConfig(level=logging.INFO, format=LOG_FORMAT)
    if args.action == "archive":
        if not args.path.is_file():
            print(f"olist history: {args.path} not found", file=sys.stderr)
            return 1
        paths = [run_history.archive(args.path, args.history_dir, args.day)]
        print(f"archived {paths[0]}")
        if not args.load:
            return 0
    else:
        paths = run_history.find_results(args.path)
        if not paths:
            print(
                f"olist history: no {run_history.RESULTS_FILE} under {args.path}", file=sys.stderr
            )
            return 1
    settings = settings_from(args)
    rows = run_history.load(
        paths,
        run_label=args.run_label,
        target=settings.target,
        profiles_dir=settings.profiles_dir,
        schema=args.history_schema,
    )
    print(
        f"{rows} node results from {len(paths)} files in {args.history_schema}.{run_history.TABLE}"
    )
    return 0


def _diff(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    from olist_elt.errors import ConfigError
    from olist_elt.review.diff import diff

    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    settings = settings_from(args)
    try:
        report = diff(
            args.baseline,
            project_dir=settings.project_dir,
            target=settings.target or "duckdb",
            profiles_dir=Path(settings.profiles_dir) if settings.profiles_dir else None,
            review_schema=args.review_schema,
        )
    except ConfigError as exc:
        print(f"olist diff: {exc}", file=sys.stderr)
        return 2
    text = report.markdown()
    for path, content in ((args.markdown, text), (args.json, report.to_json())):
        if path:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(content, encoding="utf-8")
    print(text)
    return 0


def _dashboards(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    from olist_elt.dashboards import DashboardError, build
    from olist_elt.errors import LoadError

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    settings = settings_from(args)
    clock = time.perf_counter()
    try:
        built = build(
            args.output_dir,
            target=settings.target,
            profiles_dir=settings.profiles_dir,
            schema=args.marts_schema,
        )
    except (DashboardError, LoadError) as exc:
        print(f"olist dashboards: {exc}", file=sys.stderr)
        return 1
    index = args.output_dir.resolve() / "index.html"
    print(f"{len(built)} pages in {time.perf_counter() - clock:.1f} s: file://{index}")
    return 0


def _roles(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    from olist_elt.errors import ConfigError
    from olist_elt.ops import roles

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    settings = settings_from(args)
    try:
        plan = roles.Roles.from_env()
        layout = roles.Layout(raw=settings.raw_schema, analytics=args.analytics_schema)
        if args.action == "redshift-sql":
            users = roles.RedshiftUsers(args.loader_user, args.transformer_user, args.reporter_user)
            sys.stdout.write(roles.redshift_script(roles.redshift_statements(plan, layout, users)))
            return 0
        # The bootstrap needs an admin's PostgreSQL output, not the profile's default target.
        connection = roles.connect(settings.profiles_dir, settings.target or "postgres")
        try:
            report = roles.bootstrap(
                connection,
                plan,
                layout,
                members=roles.parse_members(args.member),
                check=args.check,
            )
        finally:
            connection.close()
    except ConfigError as exc:
        print(f"olist roles: {exc}", file=sys.stderr)
        return 2
    verb = "would run" if args.check else "ran"
    for statement in report.statements:
        print(f"{verb}: {statement}")
    for revoked in report.revoked:
        print(f"{'extra' if args.check else 'revoked'}: {revoked}")
    for other in report.other_grantees:
        print(f"left alone (not a project role): {other}")
    if not report.changed:
        print("roles: nothing to change")
    return 1 if args.check and report.changed else 0


def _pg(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    from olist_elt.dev import postgres

    try:
        return postgres.manage(args.action, args.state_dir, args.port)
    except postgres.DevServerError as exc:
        print(f"olist pg: {exc}", file=sys.stderr)
        return 1


# --- the parser ----------------------------------------------------------------------------------

Command = Callable[[argparse.ArgumentParser, argparse.Namespace], int]


def _docstring(module: str) -> str:
    import importlib

    return importlib.import_module(module).__doc__ or ""


def build_parser() -> tuple[Parser, dict[str, tuple[Parser, Command]]]:
    """The `olist` parser, and each subcommand's parser and function."""
    warehouse, project, s3 = _warehouse_options(), _project_options(), _s3_options()
    days, generator = _day_options(), _generator_options()
    force, verbose, alert = _force_option(), _verbose_option(), _alert_options()
    width = max(map(len, SUBCOMMANDS))
    parser = Parser(
        prog="olist",
        description="olist-elt: load the Olist e-commerce files and build the dbt project.",
        epilog="subcommands, with an example each (olist SUBCOMMAND --help for the options):\n"
        + "\n".join(
            f"  {name:<{width}}  {summary}\n  {'':<{width}}    {example}"
            for name, (summary, example) in SUBCOMMANDS.items()
        ),
    )
    subparsers = parser.add_subparsers(
        dest="command", metavar="SUBCOMMAND", parser_class=Parser, title="subcommands"
    )
    commands: dict[str, tuple[Parser, Command]] = {}

    def add(name: str, function: Command, description: str, **kwargs: Any) -> Parser:
        _, example = SUBCOMMANDS[name]
        # No help= here: the epilog lists the subcommands once, with their examples.
        sub = subparsers.add_parser(
            name,
            description=description.strip(),
            epilog=f"example:\n  {example}",
            **kwargs,
        )
        commands[name] = (sub, function)
        return sub

    run = add("run", _run, _docstring("olist_elt.pipeline"), parents=[warehouse, generator, force])
    run.add_argument(
        "--source",
        metavar="FOLDER|S3_URI",
        help="folder or s3://bucket/prefix/ with the nine CSVs (default: $OLIST_SOURCE, "
        "else generate them)",
    )

    load = add("load", _load, LOAD_DESCRIPTION, parents=[warehouse, s3, days, force, verbose])
    load.add_argument(
        "source", nargs="?", help="folder or s3://bucket/prefix/ holding the nine CSV files"
    )
    load.add_argument(
        "--drops", metavar="ROOT", help="append the drops under this folder or s3:// prefix"
    )
    load.add_argument(
        "--tables", help="comma-separated subset of: " + ", ".join(f.table for f in OLIST_FILES)
    )
    load.add_argument(
        "--dry-run", action="store_true", help="print the SQL it would run; connect to nothing"
    )
    load.add_argument(
        "--iam-role-arn", help="Redshift: role for COPY (default: $OLIST_REDSHIFT_COPY_ROLE_ARN)"
    )
    load.add_argument("--region", help="Redshift: the S3 bucket's region (default: $AWS_REGION)")
    load.add_argument(
        "--lock-wait",
        type=non_negative_number,
        default=0.0,
        metavar="SECONDS",
        help="when another loader holds the target, wait this long for it (default: fail at once)",
    )

    generate = add(
        "generate", _generate, _docstring("olist_elt.generate.dataset"), parents=[generator, s3]
    )
    generate.add_argument(
        "--out", required=True, help="folder or s3://bucket/prefix/ to write into"
    )
    generate.add_argument("--gzip", action="store_true", help="write .csv.gz files")
    generate.add_argument(
        "--parts",
        type=positive_integer,
        default=1,
        metavar="N",
        help="write each table but the category translation as N parts <file>_part<K>.csv[.gz] "
        "(for Redshift: a multiple of the slices, each part 1 MB-1 GB compressed; default 1)",
    )

    replay = add("replay", _replay, _docstring("olist_elt.daily.replay"), parents=[s3])
    replay.add_argument("source", help="folder holding the nine Olist files (generated or real)")
    replay.add_argument("out", help="folder or s3://bucket/prefix/ to write the drops to")
    replay.add_argument("--from", dest="date_from", type=day, metavar="YYYY-MM-DD")
    replay.add_argument("--to", dest="date_to", type=day, metavar="YYYY-MM-DD")
    replay.add_argument("--gzip", action="store_true", help="write .csv.gz files")

    daily = add(
        "daily",
        _daily,
        _docstring("olist_elt.daily.run"),
        parents=[warehouse, project, s3, days, force, alert],
    )
    daily.add_argument(
        "--drops", required=True, metavar="ROOT", help="folder or s3://bucket/prefix/ of drops"
    )
    daily.add_argument(
        "--full-refresh",
        action="store_true",
        help="rebuild the incremental tables the day builds from scratch (after a corrected "
        "drop removed rows); with --deploy, every table (after a change to their columns)",
    )
    daily.add_argument(
        "--single-build", action="store_true", help="load every chosen drop, then build once"
    )
    tests = daily.add_mutually_exclusive_group()
    tests.add_argument(
        "--skip-tests", action="store_true", help="build only; run the data tests separately"
    )
    tests.add_argument(
        "--all-tests",
        action="store_true",
        help="run every data test of the rebuilt tables, not only the daily ones",
    )
    daily.add_argument(
        "--deploy",
        action="store_true",
        help="also recreate every view and reload the seeds (after the project changed)",
    )
    daily.add_argument(
        "--keep-going", action="store_true", help="go on with the next date after a failure"
    )
    daily.add_argument(
        "--write-artifacts",
        action="store_true",
        help="write dbt's manifest.json and run_results.json for each build",
    )
    daily.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="print dbt's output, and log every statement to logs/dbt.log",
    )

    history = add("history", _history, _docstring("olist_elt.ops.run_history"))
    history_actions = history.add_subparsers(
        dest="action", metavar="ACTION", parser_class=Parser, required=True
    )
    keep = history_actions.add_parser(
        "archive",
        parents=[warehouse],
        help="copy a run_results.json into the history",
        description="Copy a run_results.json to <history>/<day>/<invocation id>/.",
        epilog="example:\n  olist history archive target/run_results.json --load --target duckdb",
    )
    keep.add_argument("path", type=Path, metavar="RUN_RESULTS")
    keep.add_argument("--history-dir", type=Path, default=Path("run-history"))
    keep.add_argument("--day", help="folder to file it under (default: its generated_at day)")
    keep.add_argument("--load", action="store_true", help="also load it into the warehouse")
    into = history_actions.add_parser(
        "load",
        parents=[warehouse],
        help="load every run_results.json under a folder",
        description="Load every run_results.json under a folder into <history schema>."
        "dbt_run_results.",
        epilog="example:\n  olist history load run-history/2018-08-15 --target postgres",
    )
    into.add_argument("path", type=Path, metavar="FOLDER")
    for sub in (keep, into):
        sub.add_argument("--run-label", default="", help="stored with each row (a drop date)")
        sub.add_argument(
            "--history-schema", default="ops", help="schema of dbt_run_results (default: ops)"
        )
        commands[sub.prog] = (sub, _history)

    review = add("diff", _diff, _docstring("olist_elt.review.diff"), parents=[warehouse, project])
    review.add_argument(
        "--baseline",
        type=Path,
        default=Path("prod-state"),
        metavar="DIR",
        help="the baseline's manifest.json (and, on DuckDB, olist.duckdb) (default: prod-state)",
    )
    review.add_argument(
        "--review-schema", default="review", help="prefix of the schemas the change is built in"
    )
    review.add_argument("--markdown", type=Path, metavar="FILE", help="also write the report here")
    review.add_argument("--json", type=Path, metavar="FILE", help="also write it as JSON here")

    from olist_elt.dashboards.build import DEFAULT_OUTPUT

    pages = add("dashboards", _dashboards, _docstring("olist_elt.dashboards"), parents=[warehouse])
    pages.add_argument(
        "--output-dir",
        type=Path,
        default=Path(DEFAULT_OUTPUT),
        metavar="DIR",
        help=f"where the site is written (default: {DEFAULT_OUTPUT})",
    )
    pages.add_argument(
        "--marts-schema", help="schema of the marts (default: <the output's schema>_marts)"
    )

    grants = add("roles", _roles, _docstring("olist_elt.ops.roles"))
    grants_actions = grants.add_subparsers(
        dest="action", metavar="ACTION", parser_class=Parser, required=True
    )
    apply = grants_actions.add_parser(
        "apply",
        parents=[warehouse],
        help="create or repair the roles on PostgreSQL",
        description="Create or repair the roles, as the admin of a postgres output "
        "(default target: postgres).",
        epilog="example:\n  olist roles apply --member loader=etl --member reporter=alice",
    )
    apply.add_argument("--member", action="append", default=[], metavar="JOB=USER")
    apply.add_argument(
        "--check", action="store_true", help="report, change nothing; exit 1 when anything would"
    )
    statements = grants_actions.add_parser(
        "redshift-sql",
        parents=[warehouse],
        help="print the Redshift statements",
        description="Print the statements that set the roles up on Redshift.",
        epilog="example:\n  olist roles redshift-sql > infra/redshift/roles.sql",
    )
    from olist_elt.ops.roles import ANALYTICS_SCHEMA, RedshiftUsers

    statements.add_argument("--loader-user", default=RedshiftUsers.loader)
    statements.add_argument("--transformer-user", default=RedshiftUsers.transformer)
    statements.add_argument("--reporter-user", default=RedshiftUsers.reporter)
    for sub in (apply, statements):
        sub.add_argument(
            "--analytics-schema",
            default=ANALYTICS_SCHEMA,
            help=f"prefix of dbt's schemas (default: {ANALYTICS_SCHEMA})",
        )
        commands[sub.prog] = (sub, _roles)

    pg = add("pg", _pg, _docstring("olist_elt.dev.postgres"))
    pg.add_argument("action", choices=("up", "env", "down"))
    pg.add_argument(
        "--state-dir",
        type=Path,
        default=Path(".pg"),
        help="where the running server's details are kept (default .pg)",
    )
    pg.add_argument("--port", type=port_number, default=None, help="default: a free port")
    return parser, commands


def _dispatch(argv: Sequence[str]) -> int:
    parser, commands = build_parser()
    try:
        args, extra = parser.parse_known_args(list(argv))
        if args.command is None:
            parser.error("give a subcommand (olist --help lists them)")
        sub, function = commands[args.command]
        if extra:
            # Name the subcommand (history's actions too) whose options these are not.
            owner = commands.get(f"{sub.prog} {getattr(args, 'action', '')}", (sub,))[0]
            kind = "option" if extra[0].startswith("-") else "argument"
            owner.error(f"unrecognized {kind} {extra[0]}")
        return function(sub, args)
    except UsageError as exc:
        print(exc, file=sys.stderr)
        return 2


def main(argv: Sequence[str] | None = None) -> int:
    """`olist` with these arguments (default: the command line's); the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        if argv[:1] == ["daily"]:
            # With --alert, a wrong option is alerted too: read the alert options first.
            pre, _ = _alert_options().parse_known_args(argv[1:])
            if pre.alert:
                from olist_elt.ops.alerts import run_with_alert

                return run_with_alert(
                    lambda: _dispatch(argv),
                    dates=[argv[i + 1] for i, a in enumerate(argv[:-1]) if a == "--date"],
                    topic_arn=pre.alert_topic,
                    link=pre.run_url,
                )
        return _dispatch(argv)
    except UsageError as exc:
        print(exc, file=sys.stderr)
        return 2
    except SystemExit as exc:  # --help
        return exc.code if isinstance(exc.code, int) else 0


def _alias(subcommand: str) -> Callable[[], int]:
    def alias() -> int:
        print(
            f"olist-{subcommand} is deprecated and goes in the next release: "
            f"use `olist {subcommand}` (same arguments)",
            file=sys.stderr,
        )
        return main([subcommand, *sys.argv[1:]])

    alias.__name__ = f"{subcommand}_alias"
    return alias


# The console scripts of the previous release, kept for one release.
load_alias = _alias("load")
generate_alias = _alias("generate")
run_alias = _alias("run")
replay_alias = _alias("replay")
daily_alias = _alias("daily")


if __name__ == "__main__":
    sys.exit(main())
