"""One daily increment against a full refresh, end to end, on DuckDB or PostgreSQL.

    .venv/bin/python benchmarks/daily_increment_benchmark.py [--scale 1] [--day 2018-08-15]
    .venv/bin/python benchmarks/daily_increment_benchmark.py --engine postgres

Data: the generated set (scale 1 = the real row counts), replayed into daily drops
(olist replay); both are cached under data/. Two warehouses: DuckDB files in a temporary
folder, or two databases of a throwaway PostgreSQL server (olist_elt.dev.postgres):

- full refresh: the nine files loaded whole (olist_elt.load.loader) into an empty database, then
  `dbt build --full-refresh` of the whole project (models, snapshot, data and unit tests).
- increment: a database holding every drop before --day, built once (not timed); then
  olist daily for --day: load the one drop, then one `dbt build` of the snapshot, the
  incremental facts and every table downstream of the raw tables the drop touched, with
  their data tests.

Each side runs dbt in this process (olist_elt.daily.run.DbtSession: no JSON artifacts written
by builds, logs/dbt.log at level info) with its own target folder, warmed by one parse, so
both pay a partial parse. Printed: both times, their ratio (make bench's reference line;
its goals judge benchmarks/history_benchmark.py's figures), and where the increment's time
goes: load, dbt parse, and per resource type the execution time of the nodes (the rest of
the build time is dbt's own per-node work: compiling, writing, scheduling). A second
increment (the next drop) without data tests shows what the tests cost.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import resource
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from olist_elt.daily.drop_load import load_drops
from olist_elt.daily.replay import replay
from olist_elt.daily.run import DailyStep, DbtSession, run_daily
from olist_elt.dev import postgres as devserver
from olist_elt.load.loader import load
from olist_elt.pipeline import PROJECT_ROOT, generated_source
from olist_elt.settings import Settings

DROPS_ROOT = PROJECT_ROOT / "data" / "drops"
CPU_OF = {"duckdb": "this process and DuckDB's threads", "postgres": "this process and the server"}
DUCKDB_PROFILE = """\
olist_elt:
  target: daily
  outputs:
    daily:
      type: duckdb
      path: "{daily}"
      schema: analytics
      threads: 4
    full:
      type: duckdb
      path: "{full}"
      schema: analytics
      threads: 4
"""
POSTGRES_PROFILE = """\
olist_elt:
  target: daily
  outputs:
    daily: &server
      type: postgres
      host: {host}
      port: {port}
      user: {user}
      password: "{password}"
      dbname: olist_daily
      schema: analytics
      threads: 4
    full:
      <<: *server
      dbname: olist_full
"""


@dataclass
class Warehouses:
    profile: str  # profiles.yml with the targets daily and full
    server_cpu: Callable[[], float]  # CPU seconds of the server so far (0: in this process)
    settle: Callable[[], None]  # untimed: let background work after a big write finish first


def warehouses(engine: str, work: Path, stack: contextlib.ExitStack) -> Warehouses:
    if engine == "duckdb":
        profile = DUCKDB_PROFILE.format(daily=work / "daily.duckdb", full=work / "full.duckdb")
        return Warehouses(profile, lambda: 0.0, lambda: None)
    server = stack.enter_context(devserver.running())
    databases = [devserver.create_database(server, name) for name in ("olist_daily", "olist_full")]

    def settle() -> None:
        # Analyze what was just written, so that autovacuum does not do it during the next
        # timed step (and the planner has statistics, as on a warehouse in use).
        import psycopg2

        for database in databases:
            connection = psycopg2.connect(server.dsn(database))
            connection.autocommit = True
            with connection.cursor() as cursor:
                cursor.execute("analyze")
            connection.close()

    profile = POSTGRES_PROFILE.format(
        host=server.host, port=server.port, user=server.user, password=server.password
    )
    return Warehouses(profile, lambda: devserver.cpu_seconds(server), settle)


def replayed(source: Path, scale: float, seed: int) -> Path:
    """The drops of the generated set, written once (the root ignores the marker file)."""
    root = DROPS_ROOT / f"scale={scale:g}-seed={seed}"
    marker = root / ".replay-complete"
    if not marker.exists():
        result = replay(source, root)
        marker.write_text(result.summary() + "\n")
        print(f"replayed: {result.summary()}")
    return root


def process_cpu_seconds() -> float:
    """CPU time of this process so far, all threads: steadier than wall time on a busy host."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def describe(label: str, step: DailyStep, parse_seconds: float, total: float) -> None:
    assert step.dbt is not None, "the increment loaded nothing"
    rows = sum(t.rows_loaded for r in step.reports for t in r.tables)
    build = step.dbt.summary.seconds
    executed = sum(step.dbt.seconds_by_type.values())
    print(f"\n{label}: {total:.2f} s end to end ({rows:,} rows in {len(step.tables)} tables)")
    print(f"  load the drop          {step.load_seconds:6.2f} s")
    print(f"  dbt parse (partial)    {parse_seconds:6.2f} s")
    print(f"  dbt build              {build:6.2f} s, of which node execution:")
    for resource_type in sorted(step.dbt.seconds_by_type):
        print(
            f"    {resource_type:<10} {step.dbt.nodes_by_type[resource_type]:>4} nodes "
            f"{step.dbt.seconds_by_type[resource_type]:6.2f} s"
        )
    print(
        f"    (execution times summed over {len(step.dbt.nodes_by_type)} types: "
        f"{executed:.2f} s on several threads; build wall time {build:.2f} s)"
    )
    print("  slowest nodes (execution s):")
    for unique_id, seconds in step.dbt.slowest(8):
        print(f"    {seconds:6.2f}  {unique_id}")
    if not step.ok:
        print("  FAILED: " + "; ".join(step.dbt.summary.failures))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument(
        "--day", type=date.fromisoformat, default=date(2018, 8, 15), help="drop to time"
    )
    parser.add_argument("--engine", choices=("duckdb", "postgres"), default="duckdb")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)

    source = generated_source(args.scale, args.seed)
    root = replayed(source, args.scale, args.seed)
    with (
        tempfile.TemporaryDirectory(prefix="olist-daily-bench-") as tmp,
        contextlib.ExitStack() as stack,
    ):
        work = Path(tmp)
        profiles = work / "profiles"
        profiles.mkdir()
        warehouse = warehouses(args.engine, work, stack)
        (profiles / "profiles.yml").write_text(warehouse.profile)

        def cpu_seconds() -> float:
            return process_cpu_seconds() + warehouse.server_cpu()

        def session(target: str) -> DbtSession:
            return DbtSession(
                Settings.resolve({"profiles_dir": str(profiles), "target": target}),
                target_path=str(work / f"target-{target}"),
                log_path=str(work / "logs"),
            )

        # State before the day (not timed): every earlier drop, the project built.
        clock = time.perf_counter()
        before = args.day - timedelta(days=1)
        loads = load_drops(str(root), date_to=before, target="daily", profiles_dir=str(profiles))
        if not all(report.ok for report in loads):
            raise SystemExit("loading the earlier drops failed")
        setup = session("daily").build(["fqn:*"], ["resource_type:test", "resource_type:unit_test"])
        if not setup.summary.ok:
            raise SystemExit(f"initial build failed: {setup.summary.failures}")
        print(
            f"setup: {len(loads)} drops up to {before} loaded and built in "
            f"{time.perf_counter() - clock:.0f} s (not timed)"
        )
        session("full").parse()  # warm the partial-parse state of each target folder
        warehouse.settle()

        # Full refresh: load everything, build everything.
        full_dbt = session("full")
        clock, cpu = time.perf_counter(), cpu_seconds()
        report = load(str(source), target="full", profiles_dir=str(profiles))
        load_seconds = time.perf_counter() - clock
        full_dbt.parse()
        built = full_dbt.build(["fqn:*"], full_refresh=True)
        full_seconds, full_cpu = time.perf_counter() - clock, cpu_seconds() - cpu
        if not (report.ok and built.summary.ok):
            raise SystemExit(f"full refresh failed: {built.summary.failures}")
        print(
            f"\nfull refresh: {full_seconds:.2f} s end to end = load {load_seconds:.2f} s "
            f"+ dbt parse {full_dbt.parse_seconds:.2f} s + dbt build "
            f"{built.summary.seconds:.2f} s ({sum(built.nodes_by_type.values())} nodes)"
        )

        # The increment: one drop, olist daily end to end.
        warehouse.settle()
        daily_dbt = session("daily")
        clock, cpu = time.perf_counter(), cpu_seconds()
        run = run_daily(str(root), [args.day], session=daily_dbt)
        increment_seconds, increment_cpu = time.perf_counter() - clock, cpu_seconds() - cpu
        describe(f"increment {args.day}", run.steps[0], daily_dbt.parse_seconds, increment_seconds)

        # The next drop without data tests: what the tests cost (same session: no parse).
        following = args.day + timedelta(days=1)
        clock = time.perf_counter()
        bare = run_daily(
            str(root),
            [following],
            session=daily_dbt,
            tests="none",
        )
        describe(
            f"increment {following} without data tests, parsed manifest reused",
            bare.steps[0],
            0.0,
            time.perf_counter() - clock,
        )

    # dbt's cost per node: what bounds the ratio at this scale (see docs/daily.md, "What a
    # daily run costs")
    increment = run.steps[0].dbt
    full_nodes, increment_nodes = (sum(s.nodes_by_type.values()) for s in (built, increment))
    print(
        f"\nbuild wall time per node: full refresh "
        f"{1000 * built.summary.seconds / full_nodes:.0f} ms ({full_nodes} nodes), increment "
        f"{1000 * increment.summary.seconds / increment_nodes:.0f} ms ({increment_nodes} nodes)"
    )
    ratio = increment_seconds / full_seconds
    cpu_ratio = increment_cpu / full_cpu
    print(
        f"\nratio increment / full refresh = {increment_seconds:.2f} / {full_seconds:.2f} "
        f"= {ratio:.3f}"
    )
    print(
        f"CPU seconds ({CPU_OF[args.engine]}): {increment_cpu:.2f} / {full_cpu:.2f} "
        f"= {cpu_ratio:.3f}: what the ratio is when no other job shares the cores"
    )
    return 0 if run.ok and bare.ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
