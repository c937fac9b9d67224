"""A day costs a day: the same daily drop on histories of growing size, on DuckDB.

    .venv/bin/python benchmarks/history_benchmark.py --history-scale 3 [--drop-scale 1]
        [--day 2018-08-15] [--json figures.json]

The history of scale N: the drops replayed from the generated set of the drop scale with
--seed (olist replay, cached under data/drops/) loaded up to two days before --day
(load_drops), plus a background set (the generator with --background-seed, 1042 by default,
at scale N minus the drop scale: its own random keys, products, sellers, customers and
geolocation rows; nothing when N is the drop scale) loaded whole by the loader
(olist_elt.load.loader.load) and appended to the raw tables; then the whole project built
without tests, then the day before --day as `olist daily` (none of it timed). The drop of
--day is the same files whatever N.

Timed, one after the other on that warehouse, each with its own dbt session (a warm
partial parse, as `olist daily` starts):

- the increment: `olist daily` for --day (olist_elt.daily.run.run_daily: load the drop, then
  the daily build with its daily tests, then the warehouse closed, as the process's exit
  closes it: DuckDB checkpoints on close), wall and CPU time, every node's execution time;
  --repeats times (3), each on a copy of the same history, the run of median wall kept;
- the full refresh: `dbt build --full-refresh` of the whole project (seed, snapshot, every
  model, every data and unit test; no load) on the same warehouse, to its close, every
  model's time.

The raw tables of the drops of the history are loaded once per loader version and cached under
data/bench-history/ (hundreds of small loads, the same for every history scale); a fresh
clone loads them on its first run.

run_all.py runs `measure()` once per history scale in its own process (phases.py), then
`summarise()` over the scales: which nodes grow with the history, and what each incremental
model saves.
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import json
import logging
import shutil
import tempfile
import time
from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from importlib import metadata
from pathlib import Path
from typing import Any

from daily_increment_benchmark import process_cpu_seconds, replayed

from olist_elt.pipeline import PROJECT_ROOT, generated_source

Json = dict[str, Any]

DEFAULT_DAY = date(2018, 8, 15)
DEFAULT_BACKGROUND_SEED = 1042
DEFAULT_REPEATS = 3  # increments per history, on copies of it: the median is reported
CACHE_ROOT = PROJECT_ROOT / "data" / "bench-history"
LOADER_ITEMS = ("loaders/olist_elt",)  # what the raw tables of the drops depend on
BACKGROUND_SCHEMA = "raw_background"
# A node "grows with the history" when its time at the largest history exceeds its time at
# the smallest by both of these: dbt's per-node time varies by about a tenth of a second from
# run to run on a busy machine, and a node of a few milliseconds can double by chance.
GROWTH_MIN_SECONDS = 0.25
GROWTH_MIN_RATIO = 1.5
PROFILE = """\
olist_elt:
  target: history
  outputs:
    history:
      type: duckdb
      path: "{path}"
      schema: analytics
      threads: 4
"""


class HistoryError(RuntimeError):
    """A load or build of the benchmark failed: the figures would mean nothing."""


# --- pure logic -----------------------------------------------------------------------------


def background_scale(history_scale: float, drop_scale: float) -> float | None:
    """The scale of the background set under a history of ``history_scale`` (None: none)."""
    if drop_scale <= 0:
        raise ValueError(f"the drop scale must be > 0, got {drop_scale:g}")
    rest = round(history_scale - drop_scale, 6)
    if rest < 0:
        raise ValueError(
            f"history scale {history_scale:g} is smaller than the drop scale {drop_scale:g}: "
            "the history holds the drops' set, so it is at least that scale"
        )
    return rest or None


def growing_nodes(
    node_seconds: Mapping[float, Mapping[str, float]],
    min_seconds: float = GROWTH_MIN_SECONDS,
    min_ratio: float = GROWTH_MIN_RATIO,
) -> list[Json]:
    """The increment's nodes whose time grows from the smallest history to the largest.

    ``node_seconds``: per history scale, the increment's execution seconds per node. A node
    that ran only at the largest history counts from zero. Largest growth first.
    """
    if len(node_seconds) < 2:
        return []
    small, large = node_seconds[min(node_seconds)], node_seconds[max(node_seconds)]
    found = []
    for node, seconds in large.items():
        before = small.get(node, 0.0)
        if seconds - before >= min_seconds and seconds >= min_ratio * before:
            found.append(
                {
                    "node": node,
                    "seconds_smallest": round(before, 3),
                    "seconds_largest": round(seconds, 3),
                    "ratio": round(seconds / before, 2) if before else None,
                }
            )
    return sorted(found, key=lambda n: n["seconds_smallest"] - n["seconds_largest"])


def incremental_savings(
    models: Sequence[str], increment: Mapping[str, float], full_refresh: Mapping[str, float]
) -> list[Json]:
    """Per incremental model: its time in the increment and in the full refresh, the saving.

    A model the day's build did not select (its sources got no row) costs nothing that
    day: its increment time is None and it saves its whole full-refresh time.
    """
    rows = []
    for model in sorted(models):
        full = full_refresh.get(model)
        if full is None:
            raise ValueError(f"{model}: incremental in the manifest, absent from the full refresh")
        spent = increment.get(model)
        rows.append(
            {
                "model": model,
                "increment_seconds": None if spent is None else round(spent, 3),
                "full_refresh_seconds": round(full, 3),
                "saved_seconds": round(full - (spent or 0.0), 3),
                "ratio": None if spent is None or not full else round(spent / full, 3),
            }
        )
    return rows


def summarise(by_scale: Mapping[float, Json]) -> Json:
    """What the scales say together: nodes growing with the history, incremental savings."""
    if not by_scale:
        return {}
    smallest, largest = min(by_scale), max(by_scale)
    summary: Json = {"smallest": smallest, "largest": largest}
    summary["growing_nodes"] = growing_nodes(
        {scale: row["increment"]["node_seconds"] for scale, row in by_scale.items()}
    )
    summary["growth_threshold"] = {"min_seconds": GROWTH_MIN_SECONDS, "min_ratio": GROWTH_MIN_RATIO}
    top = by_scale[largest]
    summary["incremental_models"] = incremental_savings(
        top["incremental_models"],
        top["increment"]["node_seconds"],
        top["full_refresh"]["node_seconds"],
    )
    return summary


def fingerprint(items: Sequence[str], root: Path = PROJECT_ROOT) -> str:
    """A digest of the files under ``items`` (names and bytes) and of DuckDB's version."""
    digest = hashlib.sha256()
    for item in items:
        path = root / item
        files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for file in files:
            if file.exists() and "__pycache__" not in file.parts:
                digest.update(str(file.relative_to(root)).encode() + b"\0" + file.read_bytes())
    digest.update(f"duckdb=={metadata.version('duckdb')}".encode())
    return digest.hexdigest()[:16]


def drop_digest(root: Path, day: date) -> str:
    """sha256 over the drop's files (names and bytes): the same drop at every history."""
    folder = root / f"ingest_date={day:%Y-%m-%d}"
    files = sorted(p for p in folder.iterdir() if p.is_file()) if folder.is_dir() else []
    if not files:
        raise HistoryError(f"{folder}: no drop for {day} (the replayed set has no row that day)")
    digest = hashlib.sha256()
    for file in files:
        digest.update(file.name.encode() + b"\0" + file.read_bytes())
    return digest.hexdigest()


# --- measuring ------------------------------------------------------------------------------


def _session(profiles: Path, work: Path) -> Any:
    from olist_elt.daily.run import DbtSession
    from olist_elt.settings import Settings

    return DbtSession(
        Settings.resolve({"profiles_dir": str(profiles), "target": "history"}),
        target_path=str(work / "target"),
        log_path=str(work / "logs"),
    )


def _check_loads(what: str, reports: Sequence[Any]) -> None:
    failed = [
        f"{report.ingest_date or report.source} {table.table}: {table.error}"
        for report in reports
        for table in report.tables
        if table.error
    ]
    if failed or not all(report.ok for report in reports):
        raise HistoryError(f"{what} failed: " + "; ".join(failed or ["see the load report"]))


def drops_warehouse(work: Path, drop_scale: float, seed: int, before: date) -> Path:
    """A DuckDB file of the raw tables holding every replayed drop up to ``before``, cached.

    The same for every history scale, and the slow part of composing one (hundreds of drops
    loaded one by one), so it is loaded once per loader version and copied.
    """
    from olist_elt.daily.drop_load import load_drops

    name = f"drops-scale={drop_scale:g}-seed={seed}-to={before}"
    cached = CACHE_ROOT / name / f"{fingerprint(LOADER_ITEMS)}.duckdb"
    if cached.exists():
        return cached
    root = replayed(generated_source(drop_scale, seed), drop_scale, seed)
    database = work / "drops.duckdb"
    profiles = _profiles(work / "drops-profiles", database)
    reports = load_drops(str(root), date_to=before, target="history", profiles_dir=str(profiles))
    _check_loads(f"loading the drops of {root} up to {before}", reports)
    _checkpoint(database)  # the copy below is then the whole database
    # Only a complete file enters the cache; other fingerprints of it are stale.
    shutil.rmtree(cached.parent, ignore_errors=True)
    cached.parent.mkdir(parents=True)
    partial = cached.with_suffix(".partial")
    shutil.copyfile(database, partial)
    partial.rename(cached)
    return cached


def compose(
    database: Path,
    work: Path,
    root: Path,
    history_scale: float,
    drop_scale: float,
    seed: int,
    background_seed: int,
    day: date,
) -> Json:
    """The history warehouse at ``database``: the drops up to two days before ``day``, the
    background, built; then the day before ``day`` as `olist daily` (the replayed drops of
    ``root``).

    A full load replaces a raw table, drops' rows included, so the background is loaded by
    the loader into a schema of its own and appended to the raw tables from there.
    """
    import duckdb

    from olist_elt.load.loader import load
    from olist_elt.spec import DEFAULT_RAW_SCHEMA, OLIST_FILES

    background = background_scale(history_scale, drop_scale)
    clock = time.perf_counter()
    shutil.copyfile(drops_warehouse(work, drop_scale, seed, day - timedelta(days=2)), database)
    figures: Json = {"background_scale": background}
    figures["drops_seconds"] = round(time.perf_counter() - clock, 1)
    profiles = _profiles(work / "compose-profiles", database)
    if background:
        source = generated_source(background, background_seed)
        _check_loads(
            f"loading the background {source}",
            [load(str(source), "history", str(profiles), schema=BACKGROUND_SCHEMA)],
        )
        connection = duckdb.connect(str(database))
        try:
            for spec in OLIST_FILES:
                connection.execute(
                    f"insert into {DEFAULT_RAW_SCHEMA}.{spec.table} by name "
                    f"select * from {BACKGROUND_SCHEMA}.{spec.table}"
                )
            connection.execute(f"drop schema {BACKGROUND_SCHEMA} cascade")
        finally:
            connection.close()
    built = _session(profiles, work / "compose").build(
        ["fqn:*"], ["resource_type:test", "resource_type:unit_test"]
    )
    if not built.summary.ok:
        raise HistoryError(f"building the history failed: {built.summary.failures}")
    figures["relations"] = _built_relations(database)
    # The day before the timed one runs as routine operation runs it, untimed: the first
    # writes after a full build leave DuckDB one-time work (merging the part-filled row
    # groups a parallel build leaves in large tables, at the checkpoints that follow), which
    # a deploy day pays once and the timed day, the day after a day, should not.
    close_dbt_duckdb()
    previous = _increment(profiles, work / "compose", root, day - timedelta(days=1))
    figures["previous_day_seconds"] = previous["wall_seconds"]
    # The size of the warehouse the timed day lands on (closed: nothing left in the log).
    figures["warehouse_mb"] = round(database.stat().st_size / 2**20)
    figures["compose_seconds"] = round(time.perf_counter() - clock, 1)
    return figures


def _profiles(folder: Path, database: Path) -> Path:
    folder.mkdir(exist_ok=True)
    (folder / "profiles.yml").write_text(PROFILE.format(path=database))
    return folder


def _built_relations(database: Path) -> int:
    """Checkpoint the warehouse, then count the relations outside the raw schema; fail if none.

    In this process the same path shares dbt-duckdb's open database instance. The checkpoint
    writes the untimed build from DuckDB's write-ahead log into the file, so that the timed
    increment does not pay for it.
    """
    from olist_elt.spec import DEFAULT_RAW_SCHEMA

    row = _checkpoint(
        database,
        "select count(*) from information_schema.tables where table_schema <> "
        f"'{DEFAULT_RAW_SCHEMA}'",
    )
    if not row or not row[0]:
        raise HistoryError(f"{database}: no relation outside {DEFAULT_RAW_SCHEMA}: not built")
    return int(row[0])


def _checkpoint(database: Path, query: str | None = None) -> tuple[Any, ...] | None:
    """Checkpoint a DuckDB file (its write-ahead log into the file); ``query``'s first row."""
    import duckdb

    connection = duckdb.connect(str(database))
    try:
        connection.execute("checkpoint")
        return connection.execute(query).fetchone() if query else None
    finally:
        connection.close()


def close_dbt_duckdb() -> None:
    """Close the DuckDB database dbt-duckdb keeps open in this process, as its exit does.

    DuckDB checkpoints on close (the write-ahead log into the file): an `olist daily` process
    pays that before it exits, and it grows with the history.
    """
    from dbt.adapters.duckdb.connections import DuckDBConnectionManager

    DuckDBConnectionManager.close_all_connections()
    gc.collect()


def _increment(profiles: Path, folder: Path, root: Path, day: date) -> Json:
    """`olist daily` for ``day`` on the warehouse of ``profiles``, timed to its close."""
    from olist_elt.daily.run import run_daily

    session = _session(profiles, folder)
    clock, cpu = time.perf_counter(), process_cpu_seconds()
    run = run_daily(str(root), [day], session=session)
    close_dbt_duckdb()
    wall, cpu = time.perf_counter() - clock, process_cpu_seconds() - cpu
    step = run.steps[0]
    _check_loads(f"loading the drop of {day}", step.reports)
    if not run.ok or step.dbt is None:
        failures = step.dbt.summary.failures if step.dbt else ["nothing loaded"]
        raise HistoryError(f"the increment of {day} failed: {failures}")
    return {
        "wall_seconds": round(wall, 3),
        "cpu_seconds": round(cpu, 3),
        "load_seconds": round(step.load_seconds, 3),
        "parse_seconds": round(session.parse_seconds, 3),
        "build_seconds": round(step.dbt.summary.seconds, 3),
        "rows_loaded": sum(t.rows_loaded for r in step.reports for t in r.tables),
        "tables": list(step.tables),
        "nodes_by_type": step.dbt.nodes_by_type,
        "node_seconds": _short(step.dbt.node_seconds),
    }


def median_run(samples: Sequence[Json]) -> Json:
    """The run of median wall time among ``samples`` (the lower middle of an even count),
    with every run's wall time as `wall_seconds_runs`."""
    if not samples:
        raise ValueError("no run to choose from")
    ordered = sorted(samples, key=lambda sample: sample["wall_seconds"])
    chosen = dict(ordered[(len(ordered) - 1) // 2])
    chosen["wall_seconds_runs"] = [sample["wall_seconds"] for sample in samples]
    return chosen


def measure(
    history_scale: float,
    drop_scale: float = 1.0,
    seed: int = 42,
    background_seed: int = DEFAULT_BACKGROUND_SEED,
    day: date = DEFAULT_DAY,
    work: Path | None = None,
    repeats: int = DEFAULT_REPEATS,
) -> Json:
    """One history scale: compose it, then time the increment (``repeats`` times, each on a
    copy of the same history; the median kept) and the full refresh."""
    if repeats < 1:
        raise ValueError(f"repeats must be at least 1, got {repeats}")
    if background_seed == seed:
        raise ValueError(f"the background seed must differ from the drops' seed ({seed})")
    with tempfile.TemporaryDirectory(prefix="olist-history-", dir=work) as scratch:
        folder = Path(scratch)
        database = folder / "history.duckdb"
        root = replayed(generated_source(drop_scale, seed), drop_scale, seed)
        composed = compose(
            database, folder, root, history_scale, drop_scale, seed, background_seed, day
        )
        profiles = _profiles(folder / "profiles", database)
        _session(profiles, folder).parse()  # warm partial parsing, as a scheduled run finds it

        # The same drop on copies of the same history, the median run by wall time kept: one
        # run of a few seconds varies by a tenth or more on a shared machine.
        # Each run closes the warehouse, so its file can be copied back for the next.
        pristine = folder / "history-before-the-day.duckdb"
        close_dbt_duckdb()  # the copy below must be the whole database
        shutil.copyfile(database, pristine)
        samples: list[Json] = []
        for repeat in range(repeats):
            if repeat:
                shutil.copyfile(pristine, database)
            samples.append(_increment(profiles, folder, root, day))
        pristine.unlink()
        increment = median_run(samples)

        full = _session(profiles, folder)
        clock, cpu = time.perf_counter(), process_cpu_seconds()
        full.parse()
        built = full.build(["fqn:*"], full_refresh=True)
        close_dbt_duckdb()  # as the increment's: the process's exit would pay it
        wall, cpu = time.perf_counter() - clock, process_cpu_seconds() - cpu
        if not built.summary.ok:
            raise HistoryError(f"the full refresh failed: {built.summary.failures}")
        nodes = full.manifest.nodes
        full_refresh: Json = {
            "wall_seconds": round(wall, 3),
            "cpu_seconds": round(cpu, 3),
            "parse_seconds": round(full.parse_seconds, 3),
            "build_seconds": round(built.summary.seconds, 3),
            "nodes_by_type": built.nodes_by_type,
            # Models, snapshots and seeds only: the tests are hundreds of nodes.
            "node_seconds": _short(
                {
                    u: s
                    for u, s in built.node_seconds.items()
                    if u.partition(".")[0] in {"model", "snapshot", "seed"}
                }
            ),
        }
        incremental = [
            u
            for u, node in nodes.items()
            if str(node.resource_type) == "model" and node.config.materialized == "incremental"
        ]
        views = {
            u: f"{node.schema}.{node.alias}"
            for u, node in nodes.items()
            if str(node.resource_type) == "model"
            and node.config.materialized == "view"
            and "marts" in node.fqn
        }
        view_reads = _short(read_views(database, views))
    return {
        "history_scale": history_scale,
        "drop_scale": drop_scale,
        "seed": seed,
        "background_seed": background_seed,
        "day": str(day),
        "drop_sha256": drop_digest(root, day),
        "compose": composed,
        "increment": increment,
        "full_refresh": full_refresh,
        "ratio": round(increment["wall_seconds"] / full_refresh["wall_seconds"], 4),
        "cpu_ratio": round(increment["cpu_seconds"] / full_refresh["cpu_seconds"], 4),
        "incremental_models": _short_names(incremental),
        "view_reads": view_reads,
    }


def read_views(database: Path, views: Mapping[str, str]) -> dict[str, float]:
    """Seconds to read each view whole (every row and column fetched), as a dashboard does.

    The marts that are views cost a daily run nothing; their cost moves to each read.
    """
    import duckdb

    seconds: dict[str, float] = {}
    connection = duckdb.connect(str(database))
    try:
        for unique_id, relation in sorted(views.items()):
            clock = time.perf_counter()
            rows = connection.execute(f"select * from {relation}").fetchall()
            seconds[unique_id] = time.perf_counter() - clock
            if not rows:
                raise HistoryError(f"{relation} is empty: nothing to time")
    finally:
        connection.close()
    return seconds


def _short(node_seconds: Mapping[str, float]) -> dict[str, float]:
    """Node ids without the project's name (model.olist_elt.x -> model.x), seconds rounded."""
    return {_short_name(u): round(s, 3) for u, s in node_seconds.items()}


def _short_name(unique_id: str) -> str:
    kind, _, rest = unique_id.partition(".")
    return f"{kind}.{rest.partition('.')[2]}"


def _short_names(unique_ids: Sequence[str]) -> list[str]:
    return sorted(_short_name(u) for u in unique_ids)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--history-scale", type=float, default=1.0)
    parser.add_argument("--drop-scale", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--background-seed", type=int, default=DEFAULT_BACKGROUND_SEED)
    parser.add_argument("--day", type=date.fromisoformat, default=DEFAULT_DAY)
    parser.add_argument(
        "--repeats",
        type=int,
        default=DEFAULT_REPEATS,
        help="increments on copies of the same history; the median is reported",
    )
    parser.add_argument("--json", type=Path, help="write the figures there too")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    try:
        figures = measure(
            args.history_scale,
            args.drop_scale,
            args.seed,
            args.background_seed,
            args.day,
            repeats=args.repeats,
        )
    except (HistoryError, ValueError) as exc:
        print(f"history benchmark: {exc}")
        return 1
    text = json.dumps(figures, indent=2)
    if args.json:
        args.json.write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
