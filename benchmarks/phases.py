"""One benchmark phase in its own process, so its time and peak memory are its own.

    python benchmarks/phases.py PHASE ARGS.json RESULT.json

run_all.py starts this script for every measurement: a fresh process per phase makes
``getrusage`` peaks (RUSAGE_SELF for this process, RUSAGE_CHILDREN for what it starts,
such as psql or olist run) belong to that phase alone. The result file holds the phase's
own figures, ``seconds`` (timed inside, interpreter start excluded) and both peaks in MB.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

Args = dict[str, Any]


def generate_phase(args: Args) -> Args:
    """The generator into a folder, with the marker olist run looks for (same format)."""
    from olist_elt.generate.dataset import generate

    folder = Path(args["out"])
    rows = generate(folder, scale=args["scale"], seed=args["seed"])
    marker = "".join(f"{name}\t{count}\n" for name, count in sorted(rows.items()))
    (folder / ".complete").write_text(marker)
    return {"rows": sum(rows.values())}


def duckdb_floor_phase(args: Args) -> Args:
    from load_benchmark import duckdb_floor

    duckdb_floor(Path(args["source"]), Path(args["database"]))
    return {}


def psql_floor_phase(args: Args) -> Args:
    from load_benchmark import psql_floor

    psql_floor(args["dsn"], Path(args["source"]))
    return {}


def loader_phase(args: Args) -> Args:
    """olist_elt.load.loader.load() as load_benchmark times it: profile, checks, audit, commit."""
    from load_benchmark import loader

    from olist_elt.load.loader import load

    if args.get("expect_noop"):  # a no-op reload: the report says what was skipped
        report = load(args["source"], target=args["target"], profiles_dir=args["profiles"])
        return {"skipped": report.count("skipped"), "loaded": report.count("loaded")}
    loader(Path(args["source"]), args["target"], Path(args["profiles"]), force=args["force"])
    return {}


def dbt_phase(args: Args) -> Args:
    """dbt in this process: import, parse, then build with the parsed manifest.

    Split this way because a `dbt build` parses first: the parse is dbt's fixed cost,
    the build's node timings say how much of the rest is SQL running in the warehouse.
    """
    clock = time.perf_counter()
    from dbt.cli.main import dbtRunner

    import_seconds = time.perf_counter() - clock
    common = ["--project-dir", args["project_dir"], "--profiles-dir", args["profiles"]]
    common += ["--target", args["target"], "--target-path", args["target_path"]]
    common += ["--log-path", args["log_path"], "--quiet"]
    clock = time.perf_counter()
    parsed = dbtRunner().invoke(["parse", *common])
    parse_seconds = time.perf_counter() - clock
    if not parsed.success:
        return {"ok": False, "failures": [f"dbt parse: {parsed.exception}"]}
    if args.get("parse_only"):
        return {"ok": True, "import_seconds": import_seconds, "parse_seconds": parse_seconds}
    command = ["build", *common]
    if args.get("select"):
        command += ["--select", *args["select"]]
    if args.get("full_refresh"):
        command.append("--full-refresh")
    clock = time.perf_counter()
    built = dbtRunner(manifest=parsed.result).invoke(command)
    build_seconds = time.perf_counter() - clock
    return {
        "ok": bool(built.success),
        "import_seconds": import_seconds,
        "parse_seconds": parse_seconds,
        "build_seconds": build_seconds,
        **node_figures(built, build_seconds),
    }


def node_figures(result: Any, build_seconds: float) -> Args:
    """Per resource type: nodes and summed execution; the wall time any node was executing."""
    nodes: list[tuple[str, str, str, float]] = []
    intervals: list[tuple[float, float]] = []
    for node_result in list(getattr(result.result, "results", None) or []):
        resource_type = str(node_result.node.resource_type)
        nodes.append(
            (
                resource_type,
                node_result.node.unique_id,
                str(node_result.status),
                float(node_result.execution_time or 0.0),
            )
        )
        for timing in node_result.timing or []:
            if timing.name == "execute" and timing.started_at and timing.completed_at:
                intervals.append((timing.started_at.timestamp(), timing.completed_at.timestamp()))
    by_type: dict[str, Args] = {}
    for resource_type, _, status, seconds in nodes:
        entry = by_type.setdefault(resource_type, {"nodes": 0, "execute_seconds": 0.0})
        entry["nodes"] += 1
        entry["execute_seconds"] += seconds
        if status in {"error", "fail"}:
            entry["failed"] = entry.get("failed", 0) + 1
    busy = union_seconds(intervals)
    slowest = sorted(nodes, key=lambda n: -n[3])[:10]
    return {
        "by_type": by_type,
        # Wall time during which at least one node ran SQL; the rest of the build is dbt's
        # own per-node work (compiling, rendering, scheduling, writing results).
        "busy_seconds": busy,
        "overhead_seconds": max(build_seconds - busy, 0.0),
        "slowest": [{"node": n[1], "seconds": n[3]} for n in slowest],
        "failures": [f"{n[1]}: {n[2]}" for n in nodes if n[2] in {"error", "fail"}],
    }


def union_seconds(intervals: list[tuple[float, float]]) -> float:
    total, end = 0.0, float("-inf")
    for start, stop in sorted(intervals):
        if stop <= end:
            continue
        total += stop - max(start, end)
        end = stop
    return total


def command_phase(args: Args) -> Args:
    """A command line as a user types it (olist run, olist load, dbt); output kept."""
    env = {**os.environ, **args.get("env", {})}
    done = subprocess.run(
        args["argv"], env=env, cwd=args.get("cwd"), capture_output=True, text=True, check=False
    )
    output = done.stdout + done.stderr
    # Head and tail: olist run prints the generation first and its summary last.
    kept = output if len(output) <= 9000 else output[:3000] + "\n[...]\n" + output[-6000:]
    return {"returncode": done.returncode, "output": kept}


def incremental_phase(args: Args) -> Args:
    """daily_increment_benchmark's main(), whatever it prints: run_all parses the text."""
    import contextlib
    import io

    import daily_increment_benchmark

    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        try:
            status = daily_increment_benchmark.main(args["argv"])
        except SystemExit as exc:  # its failures raise SystemExit with a message
            status = exc.code
    return {"returncode": status, "output": buffer.getvalue()[-12000:]}


def history_phase(args: Args) -> Args:
    """history_benchmark.measure() for one history scale: its figures as they come.

    A failed load or build raises, so the phase fails and run_all records the part failed.
    """
    from datetime import date

    import history_benchmark

    return history_benchmark.measure(
        args["history_scale"],
        drop_scale=args["drop_scale"],
        seed=args["seed"],
        background_seed=args["background_seed"],
        day=date.fromisoformat(args["day"]),
        work=Path(args["work"]),
    )


PHASES: dict[str, Callable[[Args], Args]] = {
    "generate": generate_phase,
    "duckdb_floor": duckdb_floor_phase,
    "psql_floor": psql_floor_phase,
    "loader": loader_phase,
    "dbt": dbt_phase,
    "command": command_phase,
    "incremental": incremental_phase,
    "history": history_phase,
}


def main(argv: list[str]) -> int:
    phase, args_path, result_path = argv
    args = json.loads(Path(args_path).read_text())
    os.environ.update(args.get("environ", {}))
    clock = time.perf_counter()
    result = PHASES[phase](args)
    result["seconds"] = time.perf_counter() - clock
    # ru_maxrss is in kilobytes on Linux.
    result["maxrss_self_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    result["maxrss_children_mb"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    # CPU of the phase and everything it started: on a shared machine wall time says less.
    result["cpu_seconds"] = sum(
        usage.ru_utime + usage.ru_stime
        for usage in map(resource.getrusage, (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
    )
    Path(result_path).write_text(json.dumps(result, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
