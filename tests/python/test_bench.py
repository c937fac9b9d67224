"""`make bench`'s driver at a tiny scale, slow parts skipped: the JSON has every figure the
table shows, and each ratio is computed from the times measured in the same run.

No timing is asserted: the machine is shared, only the arithmetic and the shape are.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

SCALES = ("0.01", "0.02")


@pytest.fixture(scope="module")
def bench_run(project_root: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    work = tmp_path_factory.mktemp("bench")
    command = [
        sys.executable,
        str(project_root / "benchmarks" / "run_all.py"),
        "--scales", ",".join(SCALES),
        "--reference-scale", SCALES[0],
        "--repeat", "2",
        "--skip", "real,postgres,build,e2e,iteration,incremental,history,check",
        "--data-dir", str(work / "data"),
        "--output", str(work / "out"),
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, f"run_all.py failed:\n{done.stdout}\n{done.stderr}"
    outputs = sorted((work / "out").glob("bench-*.json"))
    assert len(outputs) == 1, f"expected one bench-*.json in {work / 'out'}, found {outputs}"
    return {
        "results": json.loads(outputs[0].read_text()),
        "latest": json.loads((work / "out" / "latest.json").read_text()),
        "stdout": done.stdout,
        "data": work / "data",
    }


def test_json_has_every_part_that_ran(bench_run: dict[str, Any]) -> None:
    results = bench_run["results"]
    assert results == bench_run["latest"]
    assert results["settings"]["skipped"] == sorted(
        ["real", "postgres", "build", "e2e", "iteration", "incremental", "history", "check"]
    )
    for key in ("cores", "memory", "python", "dbt-core", "duckdb", "load_average_at_start"):
        assert results["machine"].get(key), f"machine description lacks {key}"
    assert set(results["load"]) == {"duckdb"}, "postgres was skipped, duckdb was not"
    assert set(results["scale"]["by_scale"]) == set(SCALES)
    for scale, phases in results["scale"]["by_scale"].items():
        for phase in ("generate", "load"):
            figures = phases[phase]
            assert figures["seconds"] > 0, f"scale {scale} {phase}: no time measured"
            assert figures["peak_rss_mb"] > 0, f"scale {scale} {phase}: no peak memory"
            assert figures["peak_pss_mb"] >= 0
        assert "build" not in phases, "build was skipped"
    for part in (
        "load_real_set",
        "end_to_end",
        "iteration",
        "incremental",
        "history",
        "check",
        "build",
        "errors",
    ):
        assert part not in results, f"{part} should not be in a run that skipped it"


def test_load_ratio_is_median_loader_over_median_floor(bench_run: dict[str, Any]) -> None:
    duckdb = bench_run["results"]["load"]["duckdb"]
    assert len(duckdb["loader_seconds"]) == len(duckdb["floor_seconds"]) == 2
    expected = statistics.median(duckdb["loader_seconds"]) / statistics.median(
        duckdb["floor_seconds"]
    )
    assert duckdb["ratio"] == pytest.approx(expected, abs=2e-3)
    fastest = min(duckdb["loader_seconds"]) / min(duckdb["floor_seconds"])
    assert duckdb["ratio_min"] == pytest.approx(fastest, abs=2e-3)


def test_scale_ratios_come_from_the_measured_times(bench_run: dict[str, Any]) -> None:
    scale = bench_run["results"]["scale"]
    by_scale = scale["by_scale"]
    ratios = scale[f"time_ratio_{SCALES[1]}_to_{SCALES[0]}"]
    assert ratios["scale_factor"] == pytest.approx(2.0)
    for phase in ("generate", "load"):
        expected = by_scale[SCALES[1]][phase]["seconds"] / by_scale[SCALES[0]][phase]["seconds"]
        assert ratios[phase] == pytest.approx(expected, rel=2e-3, abs=2e-3), phase
    growth = by_scale[SCALES[1]]["load"]["peak_rss_mb"] / by_scale[SCALES[0]]["load"]["peak_rss_mb"]
    assert scale["loader_peak_rss_growth"] == pytest.approx(growth, abs=2e-3)


def test_goals_are_judged_from_the_figures(bench_run: dict[str, Any]) -> None:
    results = bench_run["results"]
    goals = {goal["goal"]: goal for goal in results["goals"]}
    load_goal = goals[f"duckdb loader / floor at scale {SCALES[0]}"]
    assert load_goal["value"] == results["load"]["duckdb"]["ratio"]
    assert load_goal["limit"] == 1.5
    for goal in goals.values():
        assert goal["met"] == (goal["value"] <= goal["limit"]), goal
    # The printed table shows the same figures.
    assert f"{load_goal['value']:.4g}" in bench_run["stdout"]


def test_generated_files_are_cached_with_their_timing(bench_run: dict[str, Any]) -> None:
    for scale in SCALES:
        folder = bench_run["data"] / f"scale={scale}-seed=42"
        assert (folder / ".complete").exists(), f"{folder}: olist run's marker missing"
        record = json.loads((folder / ".bench-generate.json").read_text())
        assert (
            record["seconds"]
            == bench_run["results"]["scale"]["by_scale"][scale]["generate"]["seconds"]
        )


def test_interval_union_and_fit() -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
    from phases import union_seconds
    from run_all import linear_fit

    assert union_seconds([(0.0, 2.0), (1.0, 3.0), (5.0, 6.0), (5.5, 5.8)]) == pytest.approx(4.0)
    assert union_seconds([]) == 0.0
    intercept, slope = linear_fit([(0.1, 3.0), (1.0, 12.0), (3.0, 32.0)]) or (0.0, 0.0)
    assert intercept == pytest.approx(2.0)
    assert slope == pytest.approx(10.0)
    assert linear_fit([(1.0, 5.0)]) is None


def test_the_page_block_renders_from_the_real_json(bench_run: dict[str, Any]) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
    import render

    results = bench_run["results"]
    block = render.block(results)
    # The same table run_all.py printed, inside the block that make bench writes to the page.
    assert render.table(results) in bench_run["stdout"]
    assert render.table(results) in block
    assert results["started_at"] in block
