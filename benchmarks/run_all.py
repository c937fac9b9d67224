"""`make bench`: every measurement of the pipeline side by side in one run, one table, one JSON.

    .venv/bin/python benchmarks/run_all.py [--scales 0.1,1,3,10] [--skip postgres,incremental]

What it measures (each phase in its own process, benchmarks/phases.py, so that its peak
memory is its own; the reference scale is --reference-scale, 1 by default):

- load: the loader into DuckDB against DuckDB's read_csv of the same files into tables,
  and the loader into PostgreSQL against psql's \\copy (a throwaway server), --repeat
  times interleaved; ratio = median loader / median floor (minimum ratio shown too).
- build: a fresh `dbt build --full-refresh` on DuckDB at the reference scale: dbt
  import, parse (no partial-parse state) and build; per resource type the summed node
  execution, and the build time during which no node was executing SQL (dbt's own work).
  With several scales, the build time's intercept at scale 0 estimates the fixed cost.
- end to end: `olist run` (what `make run` calls after its install step) at the
  reference scale, once with an empty data cache (generation included) and once with
  the generated files cached; fresh warehouse and dbt target folder each time.
- scale: per scale, generate (cached per scale and seed under data/generated, the
  folder `make run` uses; the timing is stored next to the files), load into a fresh
  DuckDB file, fresh dbt build; time and peak memory; time ratio of the largest scale to
  the reference one, and the loader's peak memory across scales.
- iteration: a no-op reload (`olist load` of unchanged files: every table skipped), and
  a one-model `dbt build --select` after editing a staging model (in a copy of the
  project, partial parsing warm), as the CLI and split into parse and build; the same
  one-model build in an empty dbt project (dbt's floor for it) and the ratio of the two.
- incremental: benchmarks/daily_increment_benchmark.py's main(), its printed figures (a
  reference: one day against a load and full build at the reference scale).
- history: "a day costs a day": the same day's drop on histories of --history-scales
  (benchmarks/history_benchmark.py, one process per scale): the increment and a full
  refresh on each, the nodes whose time grows with the history, and per incremental model
  its time in the increment against the full refresh at the largest history.

Peak memory per phase: ``peak_rss_mb``, the largest resident set of the phase's own
processes (getrusage, exact), and ``peak_pss_mb``, the sampled sum of proportional set
sizes of every process involved (the phase's tree and, for PostgreSQL, the server's).

Results: a table on stdout and bench-output/bench-<UTC time>.json (and latest.json);
`make bench` then writes the figures into docs/benchmarks.md (benchmarks/render.py).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
# The project copy the iteration part edits is made as the tests make theirs.
sys.path.insert(0, str(ROOT / "tests" / "python"))

import history_benchmark  # noqa: E402
import load_benchmark  # noqa: E402
from render import table  # noqa: E402

from dbt_cli import copy_project  # noqa: E402
from olist_elt.dev import postgres as devserver  # noqa: E402
from olist_elt.pipeline import GENERATED_ROOT  # noqa: E402

log = logging.getLogger("bench")

PARTS = (
    "load",
    "real",
    "postgres",
    "scale",
    "build",
    "e2e",
    "iteration",
    "incremental",
    "history",
    "check",
)
EDITED_MODEL = "stg_olist__sellers"
FLOOR_MODEL = "one_row"  # the one model of the empty project the one-model build is held to
GOAL_LOAD_RATIO = 1.5
GOAL_E2E_SECONDS = 30.0
GOAL_ITERATION_SECONDS = 3.0
GOAL_LOADER_MEMORY_GROWTH = 1.5  # "flat": peak at the largest scale / at the reference one
GOAL_HISTORY_GROWTH = 1.5  # the increment at history 10 / at history 1, same drop
GOAL_HISTORY_INCREMENT_RATIO = 0.05  # the increment / a full refresh at history 10
GOAL_HISTORY_AT = 10.0  # the history scale the two goals above are judged at (and the largest)
GOAL_CHECK_SECONDS = 120.0  # make check, the contributors' fast tier
DEFAULT_SCALES = "0.1,1,3,10"
DEFAULT_HISTORY_SCALES = "1,3,10"
# Scale 30 is not in the default run: from a fresh clone, the run with it took longer than
# the 45 minutes `make bench` may take (the duration is in that run's JSON and in the header
# of docs/benchmarks.md). `--scale-30` adds it to the scale and history parts.
WITH_30_BY_DEFAULT = False

Json = dict[str, Any]


# --- running one phase -------------------------------------------------------------------


class TreeSampler(threading.Thread):
    """Sums the proportional set size (PSS) of process trees every `interval` seconds.

    PSS splits shared pages between the processes sharing them, so a sum over PostgreSQL's
    backends does not count its shared buffers once per backend as RSS would.
    """

    def __init__(self, roots: Iterable[int], interval: float = 0.2) -> None:
        super().__init__(daemon=True)
        self.roots = list(roots)
        self.interval = interval
        self.peak_kb = 0
        self._done = threading.Event()

    def run(self) -> None:
        while not self._done.is_set():
            self.peak_kb = max(self.peak_kb, sum(pss_kb(p) for p in descendants(self.roots)))
            self._done.wait(self.interval)

    def stop(self) -> float:
        self._done.set()
        self.join()
        return self.peak_kb / 1024


def descendants(roots: Iterable[int]) -> set[int]:
    """The roots and every process below them (/proc/PID/task/TID/children: no full scan)."""
    found, pending = set(), list(roots)
    while pending:
        pid = pending.pop()
        if pid in found:
            continue
        found.add(pid)
        try:
            tasks = os.listdir(f"/proc/{pid}/task")
        except OSError:
            continue
        for task in tasks:
            try:
                with open(f"/proc/{pid}/task/{task}/children") as handle:
                    pending.extend(int(child) for child in handle.read().split())
            except OSError:
                continue
    return found


def pss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup") as handle:
            for line in handle:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


@dataclass
class Phase:
    """One phase's figures: wall time from outside, time inside, peaks, its own result."""

    name: str
    wall: float
    seconds: float
    peak_rss_mb: float
    peak_pss_mb: float
    result: Json = field(default_factory=dict)

    def as_json(self) -> Json:
        figures = {
            k: v for k, v in self.result.items() if not k.startswith("maxrss") and k != "output"
        }
        return {
            "wall_seconds": round(self.wall, 3),
            "seconds": round(self.seconds, 3),
            "peak_rss_mb": round(self.peak_rss_mb, 1),
            "peak_pss_mb": round(self.peak_pss_mb, 1),
            **{k: v for k, v in figures.items() if k != "seconds"},
        }


class PhaseFailed(RuntimeError):
    pass


class Runner:
    def __init__(self, scratch: Path, environ: dict[str, str]) -> None:
        self.scratch = scratch
        self.environ = environ  # for every phase (profiles, warehouse paths)
        self.server_pid: int | None = None  # PostgreSQL's postmaster, sampled with each phase
        self._count = 0

    def run(self, phase: str, args: Json, environ: dict[str, str] | None = None) -> Phase:
        self._count += 1
        args_path = self.scratch / f"phase{self._count}.args.json"
        result_path = self.scratch / f"phase{self._count}.result.json"
        args = {**args, "environ": {**self.environ, **(environ or {})}}
        args_path.write_text(json.dumps(args))
        command = [sys.executable, str(HERE / "phases.py"), phase, str(args_path), str(result_path)]
        clock = time.perf_counter()
        child = subprocess.Popen(command, cwd=ROOT)
        roots = [child.pid] + ([self.server_pid] if self.server_pid else [])
        sampler = TreeSampler(roots)
        sampler.start()
        code = child.wait()
        wall = time.perf_counter() - clock
        peak_pss = sampler.stop()
        if code != 0 or not result_path.exists():
            raise PhaseFailed(f"phase {phase} failed (exit {code}); arguments in {args_path}")
        result = json.loads(result_path.read_text())
        peak_rss = max(result.get("maxrss_self_mb", 0.0), result.get("maxrss_children_mb", 0.0))
        return Phase(phase, wall, result["seconds"], peak_rss, peak_pss, result)


# --- the measurements ----------------------------------------------------------------------


def generated(runner: Runner, data_dir: Path, scale: float, seed: int) -> tuple[Path, Json]:
    """The files for (scale, seed), generated once; the generation's figures kept beside them."""
    folder = data_dir / f"scale={scale:g}-seed={seed}"
    record = folder / ".bench-generate.json"
    if (folder / ".complete").exists() and record.exists():
        return folder, {**json.loads(record.read_text()), "cached": True}
    phase = runner.run("generate", {"out": str(folder), "scale": scale, "seed": seed})
    figures = phase.as_json()
    figures["measured_at"] = utc_now()
    record.write_text(json.dumps(figures))
    return folder, {**figures, "cached": False}


def quotient(numerator: float, denominator: float) -> float | None:
    return numerator / denominator if denominator else None


def ratio(numerator: float, denominator: float) -> float | None:
    value = quotient(numerator, denominator)
    return None if value is None else significant(value)


def significant(value: float) -> float:
    """``value`` to four significant digits: a ratio of 0.0503 keeps the digits that put it
    above a limit of 0.05, which rounding to decimals would drop."""
    return float(f"{value:.4g}")


def compare(loader: list[float], floor: list[float]) -> Json:
    # Ratios of the figures as written, so that the JSON checks out by itself.
    loader, floor = [round(x, 3) for x in loader], [round(x, 3) for x in floor]
    return {
        "loader_seconds": [round(x, 3) for x in loader],
        "floor_seconds": [round(x, 3) for x in floor],
        "ratio": ratio(statistics.median(loader), statistics.median(floor)),
        "ratio_min": ratio(min(loader), min(floor)),
    }


def load_comparison(
    runner: Runner, source: Path, repeat: int, server: devserver.PgServer | None
) -> Json:
    """Loader versus floor, interleaved per repeat so that drifting load hits both alike."""
    times: dict[str, list[float]] = {}
    peaks: dict[str, float] = {}
    for run in range(repeat):
        work = Path(tempfile.mkdtemp(prefix=f"load{run}-", dir=runner.scratch))
        steps: list[tuple[str, str, Json, dict[str, str]]] = [
            ("duckdb floor", "duckdb_floor", {"database": str(work / "floor.duckdb")}, {}),
            (
                "duckdb loader",
                "loader",
                {"target": "duckdb", "force": False},
                {"OLIST_DUCKDB_PATH": str(work / "loader.duckdb")},
            ),
        ]
        if server is not None:
            steps += [
                (
                    "postgres floor",
                    "psql_floor",
                    {"dsn": server.dsn(devserver.create_database(server, f"floor{run}"))},
                    {},
                ),
                (
                    "postgres loader",
                    "loader",
                    {"target": "postgres", "force": False},
                    {"OLIST_PG_DATABASE": devserver.create_database(server, f"loader{run}")},
                ),
            ]
        for label, phase, args, environ in steps:
            measured = runner.run(
                phase,
                {**args, "source": str(source), "profiles": runner.environ["BENCH_PROFILES"]},
                environ,
            )
            times.setdefault(label, []).append(measured.seconds)
            peaks[label] = max(peaks.get(label, 0.0), measured.peak_pss_mb)
    result: Json = {}
    for engine in ("duckdb", "postgres"):
        if f"{engine} loader" in times:
            result[engine] = compare(times[f"{engine} loader"], times[f"{engine} floor"])
            result[engine]["floor"] = "read_csv" if engine == "duckdb" else "psql \\copy"
            result[engine]["peak_pss_mb"] = {
                "loader": round(peaks[f"{engine} loader"], 1),
                "floor": round(peaks[f"{engine} floor"], 1),
            }
    return result


def dbt_args(runner: Runner, target: str, work: Path, project: Path = ROOT) -> Json:
    return {
        "project_dir": str(project),
        "profiles": runner.environ["BENCH_PROFILES"],
        "target": target,
        "target_path": str(work / "target"),
        "log_path": str(work / "logs"),
    }


def scale_series(runner: Runner, sources: dict[float, Path], parts: set[str]) -> dict[float, Json]:
    """Per scale: the loader into a fresh DuckDB file, then a fresh full dbt build."""
    rows: dict[float, Json] = {}
    for scale, source in sources.items():
        work = runner.scratch / f"scale{scale:g}"
        work.mkdir()
        environ = {"OLIST_DUCKDB_PATH": str(work / "olist.duckdb")}
        row: Json = {}
        row["load"] = runner.run(
            "loader",
            {
                "source": str(source),
                "target": "duckdb",
                "force": False,
                "profiles": runner.environ["BENCH_PROFILES"],
            },
            environ,
        ).as_json()
        if "build" in parts:
            build = runner.run(
                "dbt", {**dbt_args(runner, "duckdb", work), "full_refresh": True}, environ
            )
            row["build"] = build.as_json()
            row["build"]["wall_seconds"] = round(build.wall, 3)
            if not build.result.get("ok"):
                log.warning("dbt build at scale %g failed: %s", scale, build.result.get("failures"))
        row["database"] = environ["OLIST_DUCKDB_PATH"]
        rows[scale] = row
    return rows


def end_to_end(runner: Runner, scale: float, seed: int, data_dir: Path) -> Json:
    """olist run as `make run` calls it: an empty data cache, then a cached one."""
    result: Json = {}
    cold_cache = runner.scratch / "e2e-generated"
    for label, cache in (("cold", cold_cache), ("cached_data", data_dir)):
        work = runner.scratch / f"e2e-{label}"
        work.mkdir()
        environ = {
            "OLIST_DUCKDB_PATH": str(work / "olist.duckdb"),
            "DBT_TARGET_PATH": str(work / "target"),
            "DBT_LOG_PATH": str(work / "logs"),
            "OLIST_GENERATED_DIR": str(cache),
        }
        argv = [
            str(Path(sys.executable).parent / "olist"),
            "run",
            "--target",
            "duckdb",
            "--scale",
            f"{scale:g}",
            "--seed",
            str(seed),
        ]
        phase = runner.run("command", {"argv": argv, "cwd": str(ROOT)}, environ)
        figures = phase.as_json()
        figures["ok"] = phase.result["returncode"] == 0
        figures["printed"] = parse_olist_run(phase.result["output"])
        figures["command"] = " ".join(["olist", *argv[1:]])
        if not figures["ok"]:
            figures["output"] = phase.result["output"][-2000:]
        result[label] = figures
        result[label]["database"] = environ["OLIST_DUCKDB_PATH"]
    shutil.rmtree(cold_cache, ignore_errors=True)
    return result


def parse_olist_run(output: str) -> Json:
    figures: Json = {}
    if match := re.search(r"generated [\d,]+ rows at scale \S+ in ([\d.]+) s", output):
        figures["generate_seconds"] = float(match.group(1))
    if match := re.search(r"dbt build in ([\d.]+) s", output):
        figures["dbt_build_seconds"] = float(match.group(1))
    if match := re.search(r"^total ([\d.]+) s", output, re.MULTILINE):
        figures["total_seconds"] = float(match.group(1))
    return figures


def edit_model(project: Path, model: str, count: int) -> None:
    """A change dbt's partial parsing must pick up: a comment at the end of the model."""
    path = next((project / "models").rglob(f"{model}.sql"))
    path.write_text(path.read_text() + f"\n-- benchmark edit {count}\n")


def floor_project(destination: Path) -> Path:
    """An empty dbt project of one trivial model, on the same profile as the real one."""
    (destination / "models").mkdir(parents=True)
    (destination / "dbt_project.yml").write_text(
        "name: bench_floor\nversion: '1.0'\nconfig-version: 2\nprofile: olist_elt\n"
        "model-paths: [models]\nmodels:\n  bench_floor:\n    +materialized: table\n"
    )
    (destination / "models" / f"{FLOOR_MODEL}.sql").write_text("select 1 as one\n")
    return destination


def one_model_build(
    runner: Runner, work: Path, project: Path, model: str, environ: dict[str, str]
) -> Json:
    """`dbt build --select model` after an edit, as typed, partial parsing warmed first."""
    args = dbt_args(runner, "duckdb", work, project)
    runner.run("dbt", {**args, "parse_only": True}, environ)  # warm partial parsing, not timed
    edit_model(project, model, 1)
    argv = [str(Path(sys.executable).parent / "dbt"), "build", "--select", model]
    for option, key in (
        ("--project-dir", "project_dir"),
        ("--profiles-dir", "profiles"),
        ("--target", "target"),
        ("--target-path", "target_path"),
        ("--log-path", "log_path"),
    ):
        argv += [option, args[key]]
    cli = runner.run("command", {"argv": argv}, environ)
    figures = {
        **cli.as_json(),
        "command": f"dbt build --select {model}",
        "ok": cli.result["returncode"] == 0,
    }
    figures.pop("output", None)
    if not figures["ok"]:
        raise PhaseFailed(f"{figures['command']} in {project} failed:\n{cli.result['output']}")
    return figures


def iteration(runner: Runner, source: Path, database: str) -> Json:
    """A no-op reload and a one-model build after an edit, on an already built warehouse; the
    same one-model build in an empty project, dbt's floor for it."""
    environ = {"OLIST_DUCKDB_PATH": database}
    bin_dir = Path(sys.executable).parent
    result: Json = {}
    noop = runner.run(
        "command",
        {"argv": [str(bin_dir / "olist"), "load", str(source), "--target", "duckdb"]},
        environ,
    )
    result["noop_reload"] = {
        **noop.as_json(),
        "command": f"olist load {source} --target duckdb",
        "ok": noop.result["returncode"] == 0,
        "skipped_all": "9 skipped" in noop.result["output"],
    }
    result["noop_reload"].pop("output", None)
    if not result["noop_reload"]["skipped_all"]:
        result["noop_reload"]["output"] = noop.result["output"][-1500:]

    work = runner.scratch / "iteration"
    project = copy_project(work / "project")
    result["one_model_cli"] = one_model_build(runner, work, project, EDITED_MODEL, environ)
    edit_model(project, EDITED_MODEL, 2)
    split = runner.run(
        "dbt", {**dbt_args(runner, "duckdb", work, project), "select": [EDITED_MODEL]}, environ
    )
    result["one_model_split"] = split.as_json()

    floor_work = runner.scratch / "iteration-floor"
    floor = one_model_build(
        runner,
        floor_work,
        floor_project(floor_work / "project"),
        FLOOR_MODEL,
        {"OLIST_DUCKDB_PATH": str(floor_work / "floor.duckdb")},
    )
    result["one_model_floor"] = floor
    result["one_model_floor_ratio"] = ratio(
        result["one_model_cli"]["wall_seconds"], floor["wall_seconds"]
    )
    return result


def incremental(runner: Runner, scale: float, seed: int, data_dir: Path) -> Json:
    """daily_increment_benchmark.main() in its own process; its figures read from its text."""
    try:
        phase = runner.run(
            "incremental",
            {"argv": ["--scale", f"{scale:g}", "--seed", str(seed)]},
            {"OLIST_GENERATED_DIR": str(data_dir)},
        )
    except PhaseFailed as exc:
        return {"ok": False, "error": str(exc)}
    output = phase.result.get("output", "")
    figures: Json = {**phase.as_json(), "ok": phase.result.get("returncode") in (0, None)}
    figures.pop("output", None)
    if match := re.search(r"full refresh: ([\d.]+) s end to end", output):
        figures["full_refresh_seconds"] = float(match.group(1))
    if match := re.search(r"\nincrement [\d-]+: ([\d.]+) s end to end", output):
        figures["increment_seconds"] = float(match.group(1))
    if match := re.search(r"ratio increment / full refresh = .*= ([\d.]+)", output):
        figures["ratio_printed"] = float(match.group(1))
    if "increment_seconds" in figures and "full_refresh_seconds" in figures:
        figures["ratio"] = ratio(figures["increment_seconds"], figures["full_refresh_seconds"])
    else:  # its output changed: keep it, so the figures can still be read by eye
        figures["output"] = output[-3000:]
    return figures


def history(runner: Runner, args: argparse.Namespace) -> Json:
    """The same day's drop on each history scale, each in its own process, then the summary."""
    by_scale: dict[float, Json] = {}
    for scale in args.history_scale_list:
        phase = runner.run(
            "history",
            {
                "history_scale": scale,
                "drop_scale": args.history_drop_scale,
                "seed": args.seed,
                "background_seed": args.background_seed,
                "day": str(args.history_day),
                "work": str(runner.scratch),
            },
            {"OLIST_GENERATED_DIR": str(args.data_dir)},
        )
        by_scale[scale] = phase.as_json()
    digests = {row["drop_sha256"] for row in by_scale.values()}
    if len(digests) != 1:
        raise PhaseFailed(f"the drop of {args.history_day} differed between history scales")
    return {
        "by_scale": {f"{scale:g}": row for scale, row in by_scale.items()},
        **history_benchmark.summarise(by_scale),
    }


# --- summary --------------------------------------------------------------------------------


def contributor_check(runner: Runner) -> Json:
    """`make check` as a contributor runs it: lint, the fast tests and a tiny build, two at a
    time. The venv and actionlint are installed before (the timing is the loop, not set-up)."""
    phase = runner.run(
        "command", {"argv": ["make", "--no-print-directory", "check"], "cwd": str(ROOT)}
    )
    figures = phase.as_json()
    figures["ok"] = phase.result["returncode"] == 0
    if not figures["ok"]:
        figures["output"] = phase.result["output"][-2000:]
    return figures


def linear_fit(points: list[tuple[float, float]]) -> tuple[float, float] | None:
    """Least-squares intercept and slope of time against scale (None with fewer than 2)."""
    if len(points) < 2:
        return None
    mean_x = statistics.fmean(x for x, _ in points)
    mean_y = statistics.fmean(y for _, y in points)
    spread = sum((x - mean_x) ** 2 for x, _ in points)
    if not spread:
        return None
    slope = sum((x - mean_x) * (y - mean_y) for x, y in points) / spread
    return mean_y - slope * mean_x, slope


def scale_ratios(by_scale: Json, high: float, low: float) -> Json:
    """Time per phase and peak RSS of the load and build at scale ``high`` over ``low``."""
    ratios: Json = {"scale_factor": high / low, "peak_rss": {}}
    for phase in ("generate", "load", "build"):
        top = by_scale[f"{high:g}"].get(phase)
        bottom = by_scale[f"{low:g}"].get(phase)
        if top and bottom:
            ratios[phase] = ratio(top["seconds"], bottom["seconds"])
            if phase != "generate":
                ratios["peak_rss"][phase] = ratio(top["peak_rss_mb"], bottom["peak_rss_mb"])
    return ratios


def scale_summary(rows: dict[float, Json], generation: dict[float, Json], reference: float) -> Json:
    by_scale: Json = {}
    for scale, row in rows.items():
        by_scale[f"{scale:g}"] = {"generate": generation[scale], **row}
    summary: Json = {"by_scale": by_scale}
    if not rows:
        return summary
    largest = max(rows)
    if largest == reference or reference not in rows:
        return summary
    summary[f"time_ratio_{largest:g}_to_{reference:g}"] = scale_ratios(by_scale, largest, reference)
    # The largest scale against the one below it too (30 against 10): what stops growing
    # linearly shows there, where a ratio to the reference scale would average it away.
    below = max(scale for scale in rows if scale < largest)
    if below > reference:
        summary[f"time_ratio_{largest:g}_to_{below:g}"] = scale_ratios(by_scale, largest, below)
    summary["loader_peak_rss_growth"] = ratio(
        by_scale[f"{largest:g}"]["load"]["peak_rss_mb"],
        by_scale[f"{reference:g}"]["load"]["peak_rss_mb"],
    )
    build_points = [(s, r["build"]["seconds"]) for s, r in rows.items() if "build" in r]
    if fit := linear_fit(build_points):
        summary["build_fit"] = {
            "fixed_seconds": round(fit[0], 2),
            "seconds_per_scale_unit": round(fit[1], 2),
        }
        smallest = min(rows)
        if reference in rows and "build" in rows[reference] and smallest < reference:
            # Robust to one noisy large scale: the whole build at the smallest scale is
            # nearly all fixed cost, so its share of the reference build bounds that cost.
            summary["build_fit"]["smallest_scale_share"] = ratio(
                rows[smallest]["build"]["seconds"], rows[reference]["build"]["seconds"]
            )
        if reference in rows and "build" in rows[reference]:
            # dbt's fixed cost (the time at scale 0) against the data's share at the reference.
            summary["build_fit"]["fixed_share_at_reference"] = ratio(
                fit[0], rows[reference]["build"]["seconds"]
            )
    return summary


def goals(results: Json, reference: float) -> list[Json]:
    found: list[Json] = []

    def add(name: str, value: float | None, limit: float, lower_is_better: bool = True) -> None:
        """Judged on ``value`` as given, before it is rounded for the page."""
        if value is None:
            return
        met = value <= limit if lower_is_better else value >= limit
        found.append({"goal": name, "value": significant(value), "limit": limit, "met": met})

    for engine in ("duckdb", "postgres"):
        if engine in results.get("load", {}):
            add(
                f"{engine} loader / floor at scale {reference:g}",
                results["load"][engine]["ratio"],
                GOAL_LOAD_RATIO,
            )
    for label in ("cold", "cached_data"):
        if label in results.get("end_to_end", {}):
            add(
                f"olist run end to end ({label}), s",
                results["end_to_end"][label]["wall_seconds"],
                GOAL_E2E_SECONDS,
            )
    scale = results.get("scale", {})
    for key, ratios in scale.items():
        if key.startswith("time_ratio_"):
            for phase in ("generate", "load", "build"):
                add(
                    f"{phase} {key.removeprefix('time_')}",
                    ratios.get(phase),
                    ratios["scale_factor"],
                )
            add(
                f"build peak RSS {key.removeprefix('time_')}",
                ratios.get("peak_rss", {}).get("build"),
                ratios["scale_factor"],
            )
    add(
        "loader peak RSS, largest / reference scale",
        scale.get("loader_peak_rss_growth"),
        GOAL_LOADER_MEMORY_GROWTH,
    )
    loop = results.get("iteration", {})
    if "noop_reload" in loop:
        add("no-op reload, s", loop["noop_reload"]["wall_seconds"], GOAL_ITERATION_SECONDS)
    if "one_model_cli" in loop:
        add(
            "one-model dbt build after an edit, s",
            loop["one_model_cli"]["wall_seconds"],
            GOAL_ITERATION_SECONDS,
        )
    for name, value, limit in history_goals(results.get("history", {})):
        add(name, value, limit)
    check = results.get("check", {})
    if check.get("ok"):
        add("make check, s", check["wall_seconds"], GOAL_CHECK_SECONDS)
    return found


def history_goals(history: Json) -> list[tuple[str, float | None, float]]:
    """The goals of "a day costs a day", at history GOAL_HISTORY_AT and at the largest one,
    as unrounded ratios (goals() judges them before rounding)."""
    by_scale = {float(key): row for key, row in history.get("by_scale", {}).items()}
    if not by_scale:
        return []
    smallest = min(by_scale)
    found: list[tuple[str, float | None, float]] = []
    for scale in sorted({max(by_scale), GOAL_HISTORY_AT} & set(by_scale)):
        if scale == smallest:
            continue
        increment = by_scale[scale]["increment"]["wall_seconds"]
        found.append(
            (
                f"increment at history {scale:g} / increment at history {smallest:g} (same drop)",
                quotient(increment, by_scale[smallest]["increment"]["wall_seconds"]),
                GOAL_HISTORY_GROWTH,
            )
        )
        found.append(
            (
                f"increment / full refresh at history {scale:g}",
                quotient(increment, by_scale[scale]["full_refresh"]["wall_seconds"]),
                GOAL_HISTORY_INCREMENT_RATIO,
            )
        )
    return found


def machine(server: devserver.PgServer | None) -> Json:
    memory = ""
    with open("/proc/meminfo") as handle:
        for line in handle:
            if line.startswith("MemTotal:"):
                memory = f"{int(line.split()[1]) / 1024 / 1024:.1f} GB"
    cpu = ""
    with open("/proc/cpuinfo") as handle:
        for line in handle:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    versions = {
        name: safe_version(name)
        for name in ("dbt-core", "dbt-duckdb", "dbt-postgres", "duckdb", "psycopg2-binary")
    }
    postgres = None
    try:
        bin_dir = Path(server.bin_dir) if server else devserver.find_bin_dir()
        postgres = subprocess.run(
            [str(bin_dir / "postgres"), "--version"], capture_output=True, text=True, check=False
        ).stdout.strip()
    except devserver.DevServerError:
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory": memory,
        "os": platform.platform(),
        "python": platform.python_version(),
        "postgres": postgres,
        **versions,
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }


def safe_version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def utc_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# --- main -----------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--scales", help=f"comma-separated generator scales (default {DEFAULT_SCALES})"
    )
    parser.add_argument(
        "--reference-scale",
        type=float,
        default=1.0,
        help="scale of the load, build, end-to-end and iteration measures",
    )
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--repeat", type=int, default=3, help="loader/floor pairs per engine")
    parser.add_argument(
        "--skip", default="", help=f"comma-separated parts to skip: {', '.join(PARTS)}"
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=GENERATED_ROOT,
        help="cache of generated files (default: the one make run uses)",
    )
    parser.add_argument(
        "--history-scales",
        help="comma-separated history scales of the history part, each at least the drop "
        f"scale (default {DEFAULT_HISTORY_SCALES})",
    )
    parser.add_argument(
        "--history-drop-scale",
        type=float,
        default=1.0,
        help="scale of the generated set whose replayed drops every history holds",
    )
    parser.add_argument(
        "--history-day",
        type=date.fromisoformat,
        default=history_benchmark.DEFAULT_DAY,
        help="the drop the history part times",
    )
    parser.add_argument(
        "--background-seed",
        type=int,
        default=history_benchmark.DEFAULT_BACKGROUND_SEED,
        help="seed of the background sets that make a history larger than the drops' set",
    )
    parser.add_argument(
        "--scale-30",
        action=argparse.BooleanOptionalAction,
        help="add scale 30 to the scale and history parts (--no-scale-30: leave it out); "
        f"default: {'added' if WITH_30_BY_DEFAULT else 'left out'} when the scales are not given",
    )
    parser.add_argument("--output", type=Path, default=ROOT / "bench-output")
    args = parser.parse_args(argv)
    args.skip = {part for part in args.skip.split(",") if part}
    if unknown := args.skip - set(PARTS):
        parser.error(
            f"unknown part(s) to skip: {', '.join(sorted(unknown))}; known: {', '.join(PARTS)}"
        )
    try:
        args.scale_list = scale_list(args.scales, DEFAULT_SCALES, args.scale_30)
        args.history_scale_list = scale_list(
            args.history_scales, DEFAULT_HISTORY_SCALES, args.scale_30
        )
        for scale in args.history_scale_list:
            history_benchmark.background_scale(scale, args.history_drop_scale)
    except ValueError as exc:
        parser.error(str(exc))
    if args.background_seed == args.seed:
        parser.error("--background-seed must differ from --seed: the history needs its own keys")
    return args


def scale_list(given: str | None, default: str, with_30: bool | None) -> list[float]:
    """The scales of --scales or --history-scales, with 30 added or removed by --scale-30."""
    try:
        scales = {float(s) for s in (given or default).split(",") if s.strip()}
    except ValueError:
        raise ValueError(f"scales are comma-separated numbers, got {given!r}") from None
    if with_30 or (with_30 is None and given is None and WITH_30_BY_DEFAULT):
        scales.add(30.0)
    elif with_30 is False:
        scales.discard(30.0)
    if not scales or min(scales) <= 0:
        raise ValueError(f"scales must be positive numbers, got {given or default!r}")
    return sorted(scales)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    parts = set(PARTS) - args.skip
    reference = args.reference_scale
    started = time.perf_counter()
    results: Json = {
        "started_at": utc_now(),
        "settings": {
            "scales": args.scale_list,
            "history_scales": args.history_scale_list,
            "history_drop_scale": args.history_drop_scale,
            "history_day": str(args.history_day),
            "background_seed": args.background_seed,
            "reference_scale": reference,
            "seed": args.seed,
            "repeat": args.repeat,
            "skipped": sorted(args.skip),
            "command": "make bench"
            + (f" BENCH_ARGS='{' '.join(argv or sys.argv[1:])}'" if (argv or sys.argv[1:]) else ""),
        },
    }
    args.data_dir.mkdir(parents=True, exist_ok=True)
    server: devserver.PgServer | None = None
    errors: Json = {}

    def step(label: str) -> None:
        print(f"[{time.perf_counter() - started:6.0f} s] {label}", flush=True)

    def attempt(part: str, action: Callable[[], Json]) -> None:
        """One part of the run: a failure is recorded and the other parts still run."""
        try:
            results[part] = action()
        except Exception as exc:
            log.exception("%s failed", part)
            errors[part] = f"{type(exc).__name__}: {exc}"

    with tempfile.TemporaryDirectory(prefix="olist-bench-") as scratch_name:
        scratch = Path(scratch_name)
        profiles = scratch / "profiles"
        profiles.mkdir()
        shutil.copy(ROOT / "profiles.yml.example", profiles / "profiles.yml")
        environ = {"BENCH_PROFILES": str(profiles), "DBT_PROFILES_DIR": str(profiles)}
        runner = Runner(scratch, environ)
        try:
            if "postgres" in parts:
                server = devserver.start()
                runner.server_pid = int((server.data_dir / "postmaster.pid").read_text().split()[0])
                environ.update(server.env())
            results["machine"] = machine(server)
            scales = sorted({*args.scale_list, reference})
            generation: dict[float, Json] = {}
            sources: dict[float, Path] = {}
            for scale in scales:
                step(f"generate scale {scale:g}")
                sources[scale], generation[scale] = generated(
                    runner, args.data_dir, scale, args.seed
                )
            if "load" in parts:
                step("loader vs floor")
                attempt(
                    "load", lambda: load_comparison(runner, sources[reference], args.repeat, server)
                )
            if "load" in parts and "real" in parts and load_benchmark.real_files_present():
                step("loader vs floor on the real files")
                real = load_benchmark.real_set(Path(tempfile.mkdtemp(dir=scratch)))
                attempt("load_real_set", lambda: load_comparison(runner, real, args.repeat, server))
            scale_rows: dict[float, Json] = {}
            if "scale" in parts or "build" in parts:
                wanted = scales if "scale" in parts else [reference]
                step("load and build per scale")
                attempt(
                    "scale_rows",
                    lambda: scale_series(runner, {s: sources[s] for s in wanted}, parts),
                )
                scale_rows = results.pop("scale_rows", {})
                results["scale"] = scale_summary(scale_rows, generation, reference)
                if "build" in scale_rows.get(reference, {}):
                    results["build"] = scale_rows[reference]["build"]
            if "e2e" in parts:
                step("olist run end to end")
                attempt(
                    "end_to_end", lambda: end_to_end(runner, reference, args.seed, args.data_dir)
                )
            if "iteration" in parts:
                database = scale_rows.get(reference, {}).get("database")
                if database and "build" in scale_rows[reference]:
                    step("iteration")
                    attempt("iteration", lambda: iteration(runner, sources[reference], database))
                else:
                    log.warning("iteration skipped: it needs the reference scale's build")
            if "check" in parts:
                step("make check")
                attempt("check", lambda: contributor_check(runner))
            if "incremental" in parts:
                step("daily increment")
                attempt(
                    "incremental", lambda: incremental(runner, reference, args.seed, args.data_dir)
                )
            if "history" in parts:
                step(f"a day on histories {', '.join(f'{s:g}' for s in args.history_scale_list)}")
                attempt("history", lambda: history(runner, args))
        finally:
            if server is not None:
                devserver.stop(server)
    if errors:
        results["errors"] = errors
    results["goals"] = goals(results, reference)
    results["seconds"] = round(time.perf_counter() - started, 1)
    results["machine"]["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    print()
    print(table(results))
    args.output.mkdir(parents=True, exist_ok=True)
    path = args.output / f"bench-{results['started_at'].replace(':', '')}.json"
    text = json.dumps(results, indent=2, default=str)
    path.write_text(text)
    (args.output / "latest.json").write_text(text)
    print(f"\n{results['seconds']:.0f} s; figures in {path}")
    for part, error in errors.items():
        print(f"FAILED {part}: {error}", file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
