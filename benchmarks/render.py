"""The figures of one `make bench` run, as text: the table run_all.py prints, and the block
of docs/benchmarks.md that `make bench` rewrites from the run's JSON.

    .venv/bin/python benchmarks/render.py [bench-output/latest.json] [--page docs/benchmarks.md]

The page keeps its prose; only the lines between BEGIN and END are replaced, so the measured
figures live in the JSON and in that one block, never in hand-written text.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_JSON = ROOT / "bench-output" / "latest.json"
DEFAULT_PAGE = ROOT / "docs" / "benchmarks.md"
BEGIN = "<!-- bench:begin: written by `make bench` (benchmarks/render.py); do not edit -->"
END = "<!-- bench:end -->"

Json = dict[str, Any]
WIDTH = 70  # of the table's first column
GROWING_SHOWN = 12  # growing nodes listed in the table; the JSON has them all


class RenderError(Exception):
    """The JSON or the page is not what the renderer expects; the message says which."""


def table(results: Json) -> str:
    """The fixed-width table of every figure and goal, as run_all.py prints it."""
    lines: list[str] = []

    def row(measure: str, value: str, note: str = "") -> None:
        lines.append(f"{measure:<{WIDTH}} {value:>14}  {note}".rstrip())

    def mb(figures: Json) -> str:
        return f"peak {figures['peak_rss_mb']:.0f} MB rss / {figures['peak_pss_mb']:.0f} MB pss"

    row("measure", "value", "details")
    lines.append("-" * (WIDTH + 60))
    reference = results["settings"]["reference_scale"]
    for key, label in (("load", f"scale {reference:g}"), ("load_real_set", "real files")):
        for engine, figures in results.get(key, {}).items():
            row(
                f"load {engine}: loader / {figures['floor']} ({label})",
                f"{figures['ratio']:.2f}x",
                f"median {statistics.median(figures['loader_seconds']):.2f} s vs "
                f"{statistics.median(figures['floor_seconds']):.2f} s; min ratio "
                f"{figures['ratio_min']:.2f}x",
            )
    build = results.get("build")
    if build:
        by_type = build.get("by_type", {})
        executed = ", ".join(
            f"{t} {v['nodes']} nodes {v['execute_seconds']:.1f} s"
            for t, v in sorted(by_type.items())
        )
        row(
            f"dbt build duckdb (scale {reference:g}), wall",
            f"{build['wall_seconds']:.2f} s",
            f"import {build['import_seconds']:.1f} + parse {build['parse_seconds']:.1f} + build "
            f"{build['build_seconds']:.1f} s",
        )
        row(
            "  build: some node in its execute step",
            f"{build['busy_seconds']:.2f} s",
            f"summed per node: {executed}",
        )
        row(
            "  build: dbt's own per-node work",
            f"{build['overhead_seconds']:.2f} s",
            "no node in its execute step",
        )
        if fit := results.get("scale", {}).get("build_fit"):
            row(
                "  build time fit over scales: fixed",
                f"{fit['fixed_seconds']:.2f} s",
                f"+ {fit['seconds_per_scale_unit']:.2f} s per scale unit; fixed share at "
                f"scale {reference:g}: {fit.get('fixed_share_at_reference') or 0:.0%}; "
                f"smallest scale's build / this one: {fit.get('smallest_scale_share') or 0:.0%}",
            )
    for label, figures in results.get("end_to_end", {}).items():
        printed = figures.get("printed", {})
        row(
            f"olist run end to end, {label} (scale {reference:g})",
            f"{figures['wall_seconds']:.2f} s",
            ("" if figures["ok"] else "FAILED ")
            + ", ".join(f"{k} {v}" for k, v in printed.items())
            + f"; {mb(figures)}",
        )
    scale = results.get("scale", {})
    for key, figures in scale.get("by_scale", {}).items():
        for phase in ("generate", "load", "build"):
            if phase in figures:
                phase_figures = figures[phase]
                cached = " (cached timing)" if phase_figures.get("cached") else ""
                row(
                    f"scale {key}: {phase}",
                    f"{phase_figures['seconds']:.2f} s",
                    mb(phase_figures) + cached,
                )
    for key, ratios in scale.items():
        if key.startswith("time_ratio_"):
            text = ", ".join(
                f"{p} {ratios[p]:.2f}" for p in ("generate", "load", "build") if p in ratios
            )
            if memory := ratios.get("peak_rss"):
                text += "; peak RSS " + ", ".join(f"{p} {r:.2f}" for p, r in memory.items())
            row(key.replace("_", " "), f"x{ratios['scale_factor']:g} data", text)
    if "loader_peak_rss_growth" in scale:
        row("loader peak RSS, largest / reference scale", f"{scale['loader_peak_rss_growth']:.2f}x")
    loop = results.get("iteration", {})
    if "noop_reload" in loop:
        row(
            "no-op reload (olist load, all skipped)",
            f"{loop['noop_reload']['wall_seconds']:.2f} s",
            mb(loop["noop_reload"]),
        )
    if "one_model_cli" in loop:
        split = loop["one_model_split"]
        row(
            f"{loop['one_model_cli']['command']} after edit",
            f"{loop['one_model_cli']['wall_seconds']:.2f} s",
            f"in process: import {split['import_seconds']:.1f} + parse "
            f"{split['parse_seconds']:.2f} "
            f"+ build {split['build_seconds']:.2f} s (executing {split['busy_seconds']:.2f} s)",
        )
    if "one_model_floor" in loop:
        floor = loop["one_model_floor"]
        row(
            f"  floor: {floor['command']}, empty project",
            f"{floor['wall_seconds']:.2f} s",
            f"the project's one-model build / this floor: {loop['one_model_floor_ratio']:.2f}x",
        )
    check = results.get("check")
    if check:
        row(
            "make check (lint, fast tests, tiny build)",
            f"{check['wall_seconds']:.2f} s" if check["ok"] else "FAILED",
            f"cpu {check['cpu_seconds']:.1f} s" if "cpu_seconds" in check else "",
        )
    inc = results.get("incremental")
    if inc:
        label = f"reference: daily increment / load + full build (scale {reference:g})"
        if "ratio" in inc:
            row(
                label,
                f"{inc['ratio']:.3f}",
                f"{inc['increment_seconds']:.1f} s vs {inc['full_refresh_seconds']:.1f} s",
            )
        else:
            row(label, "n/a", "see JSON: output kept")
    history = results.get("history")
    if history:
        history_rows(history, row)
    lines.append("-" * (WIDTH + 60))
    for goal in results.get("goals", []):
        status = "met" if goal["met"] else "MISSED"
        row(f"goal: {goal['goal']}", f"{goal['value']:.4g}", f"limit {goal['limit']:g}: {status}")
    return "\n".join(lines)


def history_scales(history: Json) -> list[tuple[str, Json]]:
    """The history part's rows, smallest history first."""
    return sorted(history.get("by_scale", {}).items(), key=lambda item: float(item[0]))


def node_label(node: str, width: int = WIDTH - 4) -> str:
    """A node as the table shows it: its name without the resource type or a test's hash."""
    kind, _, name = node.partition(".")
    if kind in {"test", "unit_test"}:
        name = name.rpartition(".")[0] or name
    return name if len(name) <= width else name[: width - 3] + "..."


def top_nodes(seconds: Json, count: int = 5) -> str:
    ranked = sorted(seconds.items(), key=lambda item: -item[1])[:count]
    return ", ".join(f"{node_label(node)} {value:.2f}" for node, value in ranked)


def history_rows(history: Json, row: Callable[..., None]) -> None:
    """The history part's lines of the table (through ``row``): per scale, then the nodes
    whose time grows with the history."""
    scales = history_scales(history)
    previous: tuple[str, Json] | None = None
    for key, figures in scales:
        increment, full = figures["increment"], figures["full_refresh"]
        against = ""
        if previous:
            growth = increment["wall_seconds"] / previous[1]["increment"]["wall_seconds"]
            full_growth = full["wall_seconds"] / previous[1]["full_refresh"]["wall_seconds"]
            against = (
                f"; vs history {previous[0]}: increment {growth:.2f}x, "
                f"full refresh {full_growth:.2f}x"
            )
        row(
            f"history {key}: increment (same drop)",
            f"{increment['wall_seconds']:.2f} s",
            f"cpu {increment['cpu_seconds']:.1f} s; full refresh {full['wall_seconds']:.1f} s "
            f"(cpu {full['cpu_seconds']:.1f} s); ratio {figures['ratio']:.3f}{against}; "
            f"peak {figures['peak_rss_mb']:.0f} MB rss{warehouse_size(figures, '; warehouse ')}",
        )
        row("  slowest increment nodes, s", "", top_nodes(increment["node_seconds"]))
        previous = (key, figures)
    if len(scales) > 1:
        threshold = history["growth_threshold"]
        label = f"history {history['largest']:g} vs {history['smallest']:g}"
        growing = history.get("growing_nodes", [])
        row(
            f"increment nodes growing, {label}",
            str(len(growing)),
            f"more than {threshold['min_seconds']:g} s and {threshold['min_ratio']:g}x slower",
        )
        for node in growing[:GROWING_SHOWN]:
            row(
                f"  {node_label(node['node'])}",
                f"{node['seconds_largest']:.2f} s",
                f"{node['seconds_smallest']:.2f} s at history {history['smallest']:g}",
            )
        if len(growing) > GROWING_SHOWN:
            row(f"  ({len(growing) - GROWING_SHOWN} more in the JSON)", "")


def warehouse_size(figures: Json, prefix: str = "") -> str:
    """The size of the history's warehouse file in MB after ``prefix``, or nothing for a run
    that did not record it."""
    size = figures.get("compose", {}).get("warehouse_mb")
    return "" if size is None else f"{prefix}{size:.0f}" + (" MB" if prefix else "")


def history_tables(history: Json) -> list[str]:
    """Markdown: per history scale, then per incremental model its measured saving."""
    scales = history_scales(history)
    if not scales:
        return []
    first = scales[0][1]
    base = first["increment"]["wall_seconds"]
    lines = [
        f"The drop of {first['day']} (scale {first['drop_scale']:g}) on each history; the "
        "full refresh right after it on the same warehouse.",
        "",
        "| history scale | increment s (cpu) | full refresh s (cpu) | increment / full refresh "
        "| increment / smallest history's | peak RSS MB | warehouse MB "
        "| slowest increment nodes, s |",
        "|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for key, figures in scales:
        increment, full = figures["increment"], figures["full_refresh"]
        lines.append(
            f"| {key} | {increment['wall_seconds']:.2f} ({increment['cpu_seconds']:.1f}) "
            f"| {full['wall_seconds']:.1f} ({full['cpu_seconds']:.1f}) | {figures['ratio']:.3f} "
            f"| {increment['wall_seconds'] / base:.2f} | {figures['peak_rss_mb']:.0f} "
            f"| {warehouse_size(figures)} | {top_nodes(increment['node_seconds'], 3)} |"
        )
    models = history.get("incremental_models", [])
    if models:
        lines += [
            "",
            f"Incremental models at history {history['largest']:g}: each one's time in the "
            "increment against the full refresh.",
            "",
            "| incremental model | increment s | full refresh s | saved s | increment / full |",
            "|---|---:|---:|---:|---:|",
        ]
        for model in models:
            spent, share = model["increment_seconds"], model["ratio"]
            lines.append(
                f"| {node_label(model['model'])} "
                f"| {'not built' if spent is None else f'{spent:.2f}'} "
                f"| {model['full_refresh_seconds']:.2f} | {model['saved_seconds']:.2f} "
                f"| {'' if share is None else f'{share:.2f}'} |"
            )
    reads = [(key, figures.get("view_reads") or {}) for key, figures in scales]
    if any(read for _, read in reads):
        views = sorted({view for _, read in reads for view in read})
        lines += [
            "",
            "Business marts (views: no daily run builds them), each read whole after the "
            "full refresh, s:",
            "",
            "| view | " + " | ".join(f"history {key}" for key, _ in reads) + " |",
            "|---|" + "---:|" * len(reads),
        ]
        for view in views:
            cells = " | ".join(f"{read[view]:.3f}" if view in read else "" for _, read in reads)
            lines.append(f"| {node_label(view)} | {cells} |")
    return [*lines, ""]


def machine_line(results: Json) -> str:
    machine = results.get("machine", {})
    parts = [
        f"{machine.get('cores', '?')} cores ({machine.get('cpu') or 'unknown CPU'})",
        f"{machine.get('memory') or '?'} RAM",
        machine.get("os") or "",
        f"Python {machine.get('python')}" if machine.get("python") else "",
    ]
    for package in ("dbt-core", "dbt-duckdb", "dbt-postgres", "duckdb", "psycopg2-binary"):
        if machine.get(package):
            parts.append(f"{package} {machine[package]}")
    if machine.get("postgres"):
        parts.append(machine["postgres"])
    start = machine.get("load_average_at_start")
    end = machine.get("load_average_at_end")
    text = ", ".join(part for part in parts if part)
    if start:
        text += f"; load average {start[0]:g} at the start"
        if end:
            text += f", {end[0]:g} at the end"
    return text


def block(results: Json) -> str:
    """The generated part of docs/benchmarks.md: which run, on what, the goals, the table."""
    for key in ("started_at", "settings"):
        if key not in results:
            raise RenderError(f"the benchmark JSON has no {key!r}: not written by run_all.py")
    minutes, seconds = divmod(round(results.get("seconds", 0)), 60)
    lines = [
        f"Run started {results['started_at']}: `{results['settings'].get('command', 'make bench')}`"
        f", {minutes} min {seconds} s in all.",
        "",
        f"Machine: {machine_line(results)}.",
        "",
    ]
    if results.get("goals"):
        lines += ["| goal | value | limit | status |", "|---|---:|---:|---|"]
        for goal in results["goals"]:
            status = "met" if goal["met"] else "**missed**"
            lines.append(f"| {goal['goal']} | {goal['value']:.4g} | {goal['limit']:g} | {status} |")
        lines.append("")
    for part, error in sorted(results.get("errors", {}).items()):
        lines.append(f"Part `{part}` failed: {error}")
        lines.append("")
    if results.get("history"):
        lines += history_tables(results["history"])
    lines += ["```text", table(results), "```"]
    return "\n".join(lines)


def replace_block(page: str, content: str) -> str:
    """The page with the text between BEGIN and END replaced; the rest kept byte for byte."""
    if page.count(BEGIN) != 1 or page.count(END) != 1:
        raise RenderError(
            f"expected the markers {BEGIN!r} and {END!r} once each in the page, found "
            f"{page.count(BEGIN)} and {page.count(END)}"
        )
    head, rest = page.split(BEGIN)
    if END in head:
        raise RenderError(f"the marker {END!r} comes before {BEGIN!r}")
    _, tail = rest.split(END)
    return f"{head}{BEGIN}\n{content}\n{END}{tail}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("json", nargs="?", type=Path, default=DEFAULT_JSON)
    parser.add_argument("--page", type=Path, default=DEFAULT_PAGE)
    args = parser.parse_args(argv)
    try:
        results = json.loads(args.json.read_text(encoding="utf-8"))
        page = args.page.read_text(encoding="utf-8")
        args.page.write_text(replace_block(page, block(results)), encoding="utf-8")
    except (OSError, json.JSONDecodeError, RenderError, KeyError) as exc:
        detail = f"missing key {exc}" if isinstance(exc, KeyError) else str(exc)
        print(f"render: {args.json} -> {args.page}: {detail}", file=sys.stderr)
        return 1
    print(f"wrote the figures of {args.json} into {args.page}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
