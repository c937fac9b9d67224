"""`olist run`: the main job. Generate (or take) the nine files, load them, dbt build.

This is what `make run` calls. It prints what it did: rows per table, what dbt
built and tested, where the warehouse is, and what to try next.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from olist_elt.generate.dataset import generate
from olist_elt.load.loader import LoadReport, load
from olist_elt.settings import PROJECT_ROOT, Settings

log = logging.getLogger("olist_elt.pipeline")

__all__ = ["PROJECT_ROOT", "BuildSummary", "dbt_build", "run"]
# OLIST_GENERATED_DIR moves the cache (benchmarks time a first run with an empty one).
GENERATED_ROOT = Path(os.environ.get("OLIST_GENERATED_DIR") or PROJECT_ROOT / "data" / "generated")


# What dbt says when an incremental model's columns differ from its table's
# (on_schema_change: fail), and what olist prints after the failed node instead of the rest
# of dbt's message, which names the dbt configs rather than this project's way out.
SCHEMA_CHANGE_ERROR = "The source and target schemas on this incremental model are out of sync"
SCHEMA_CHANGED = (
    ": its columns changed, and olist commands do not change an incremental table's columns:"
    " deploy the change with `olist daily --deploy --full-refresh`, or `olist run --force` on"
    " a warehouse `make run` built (docs/production.md)"
)


@dataclass
class BuildSummary:
    """What one `dbt build` did, counted by resource type and status."""

    ok: bool
    seconds: float
    counts: Counter[tuple[str, str]] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)

    @classmethod
    def from_result(cls, result: Any, seconds: float) -> BuildSummary:
        """Count what a dbtRunner invocation did, by resource type and status."""
        summary = cls(ok=result.success, seconds=seconds)
        for node_result in node_results(result):
            resource_type = str(node_result.node.resource_type)
            status = str(node_result.status)
            summary.counts[(resource_type, status)] += 1
            if status in {"error", "fail"}:
                message = (node_result.message or "").strip().splitlines()
                summary.failures.append(
                    f"{resource_type} {node_result.node.name}: {status}"
                    + (f" ({message[0]})" if message else "")
                    + (SCHEMA_CHANGED if SCHEMA_CHANGE_ERROR in (node_result.message or "") else "")
                )
        if result.exception is not None:
            summary.failures.append(f"dbt: {result.exception}")
        return summary

    def count(self, resource_type: str, status: str | None = None) -> int:
        return sum(
            n
            for (rtype, rstatus), n in self.counts.items()
            if rtype == resource_type and (status is None or rstatus == status)
        )


def generated_source(scale: float, seed: int) -> Path:
    """Generate the files once per (scale, seed): the generator is deterministic."""
    folder = GENERATED_ROOT / f"scale={scale:g}-seed={seed}"
    complete = folder / ".complete"
    if complete.exists():
        log.info("reusing generated data in %s", folder)
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    rows = generate(folder, scale=scale, seed=seed)
    complete.write_text("".join(f"{name}\t{count}\n" for name, count in sorted(rows.items())))
    print(
        f"generated {sum(rows.values()):,} rows at scale {scale:g} "
        f"in {time.perf_counter() - started:.1f} s -> {folder}"
    )
    return folder


def file_log_args() -> list[str]:
    """dbt options that keep logs/dbt.log at level info, unless DBT_LOG_LEVEL_FILE says otherwise.

    At dbt's default (debug) the file gets the text and timing of every statement: writing
    those took a tenth of `make run`'s dbt build at scale 1 (15.1 s against 13.5 s).
    DBT_LOG_LEVEL_FILE=debug brings them back when a run needs investigating.
    """
    return [] if os.environ.get("DBT_LOG_LEVEL_FILE") else ["--log-level-file", "info"]


def dbt_build(settings: Settings, extra_args: list[str] | None = None) -> BuildSummary:
    """Run `dbt build` in-process and count what it did."""
    from dbt.cli.main import dbtRunner

    args = ["build", *settings.dbt_args(), *file_log_args(), *(extra_args or [])]
    started = time.perf_counter()
    result = dbtRunner().invoke(args)
    return BuildSummary.from_result(result, time.perf_counter() - started)


def start_parse(settings: Settings) -> subprocess.Popen[bytes] | None:
    """Parse the project in another process while the files are generated and loaded.

    A first run has no partial-parse state, and a full parse (with dbt's import) takes
    several seconds on one core while the generator and loader leave the other mostly
    idle. The parse writes target/partial_parse.msgpack, which the build then reuses: it
    only checks that nothing changed. With that state already there, nothing is started.
    """
    target_dir = Path(os.environ.get("DBT_TARGET_PATH") or settings.project_dir / "target")
    if (target_dir / "partial_parse.msgpack").exists():
        return None
    # The same --vars as the build: other vars would make the build parse everything again.
    command = [sys.executable, "-c", "from dbt.cli.main import cli; cli()", "parse"]
    command += [*settings.dbt_args(), "--quiet"]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def finish_parse(parse: subprocess.Popen[bytes] | None, wanted: bool = True) -> None:
    """Wait for the early parse (or stop it); a failed one only means the build parses."""
    if parse is None:
        return
    if not wanted:
        parse.terminate()
    if parse.wait() != 0 and wanted:
        log.info("early dbt parse exited with %s; the build parses the project", parse.returncode)


def node_results(result: Any) -> list[Any]:
    """The per-node results of a dbtRunner invocation (none when dbt failed early)."""
    return list(getattr(result.result, "results", None) or [])


def print_load(report: LoadReport) -> None:
    print(f"\nloaded into schema {report.schema} (load id {report.load_id}):")
    for table in report.tables:
        if table.status == "skipped":
            print(f"  {table.table:<36} {'unchanged':>10}       skipped")
        else:
            print(f"  {table.table:<36} {table.rows_loaded:>10,} rows  {table.status}")


def print_build(summary: BuildSummary) -> None:
    tests = summary.count("test") + summary.count("unit_test")
    passed = summary.count("test", "pass") + summary.count("unit_test", "pass")
    warned = summary.count("test", "warn")
    print(
        f"\ndbt build in {summary.seconds:.1f} s: "
        f"{summary.count('model')} models, {summary.count('snapshot')} snapshots, "
        f"{summary.count('seed')} seeds, {tests} tests ({passed} passed, {warned} warned)"
    )
    for failure in summary.failures:
        print(f"  FAILED {failure}")


def run(
    settings: Settings,
    *,
    source: str | None = None,
    scale: float = 1.0,
    seed: int = 42,
    force: bool = False,
) -> int:
    """Load ``source`` (default: generated files at ``scale``), then `dbt build`; exit status."""
    started = time.perf_counter()
    parse = start_parse(settings)
    try:
        source = source or str(generated_source(scale, seed))
        report = load(source=source, force=force, **settings.load_options())
    except BaseException:
        finish_parse(parse, wanted=False)
        raise
    print_load(report)
    if not report.ok:
        finish_parse(parse, wanted=False)
        print("\nload failed; dbt build not run", file=sys.stderr)
        return 1
    finish_parse(parse)
    # A full load replaces raw tables, so rows may have gone: incremental models cannot see
    # a deletion, so they are rebuilt whole whenever a table was reloaded.
    reloaded = any(table.status == "loaded" for table in report.tables)
    summary = dbt_build(settings, ["--full-refresh"] if reloaded else None)
    print_build(summary)
    print(f"\ntotal {time.perf_counter() - started:.1f} s")
    if not summary.ok:
        return 1
    print_next_steps(settings.target)
    return 0


def print_next_steps(target: str | None) -> None:
    if target in (None, "duckdb"):
        database = os.environ.get("OLIST_DUCKDB_PATH", "warehouse/olist.duckdb")
        print(f"warehouse: {Path(database).resolve()}")
        print(
            f"  query it: .venv/bin/python -c \"import duckdb; print(duckdb.connect('{database}')"
            ".sql('select * from analytics_marts.fct_orders limit 5'))\""
        )
    print("next:")
    print("  make test                       the whole test suite")
    print("  make dev SELECT=fct_order_items build and test one model and its children")
    print("  make docs                       lineage and docs on http://127.0.0.1:8080")
    print("  make run                        again: unchanged tables are not reloaded")
