"""benchmarks/render.py: the figures block of docs/benchmarks.md comes from a run's JSON.

Rendered from a fixture JSON shaped like run_all.py's; every figure checked here is read
back from that JSON, and the page outside the block must come out byte for byte the same.
"""

from __future__ import annotations

import copy
import json
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))

import render  # noqa: E402

FIXTURE = Path(__file__).parent / "fixtures" / "bench" / "results.json"


@pytest.fixture
def results() -> dict[str, Any]:
    return json.loads(FIXTURE.read_text(encoding="utf-8"))


def page(content: str = "old figures") -> str:
    return f"# Title\n\nIntro.\n\n{render.BEGIN}\n{content}\n{render.END}\n\n## After\n\nText.\n"


def test_block_shows_the_run_the_machine_and_each_goal(results: dict[str, Any]) -> None:
    text = render.block(results)
    assert results["started_at"] in text
    assert f"`{results['settings']['command']}`" in text
    assert "6 min 42 s" in text  # results["seconds"] = 402.4
    machine = results["machine"]
    for value in (machine["cpu"], machine["memory"], machine["dbt-core"], machine["postgres"]):
        assert value in text
    assert "psycopg2-binary" not in text, "a package without a version is left out"
    assert "load average 0.75 at the start, 1.5 at the end" in text
    for goal in results["goals"]:
        status = "met" if goal["met"] else "**missed**"
        assert f"| {goal['goal']} | {goal['value']:.4g} | {goal['limit']:g} | {status} |" in text
    assert "Part `real` failed: RuntimeError" in text


def test_table_rows_come_from_the_json(results: dict[str, Any]) -> None:
    text = render.table(results)
    lines = {line.split("  ")[0]: line for line in text.splitlines()}
    duckdb = lines["load duckdb: loader / read_csv (scale 1)"]
    assert "1.29x" in duckdb and "median 2.20 s vs 1.70 s" in duckdb
    assert "19.50 s" in lines["dbt build duckdb (scale 1), wall"]
    assert "model 32 nodes 12.5 s, test 418 nodes 35.0 s" in text
    assert "FAILED" in lines["olist run end to end, cached_data (scale 1)"]
    assert "FAILED" not in lines["olist run end to end, cold (scale 1)"]
    assert "(cached timing)" in lines["scale 0.1: generate"]
    assert "generate 10.50, load 5.33" in lines["time ratio 1 to 0.1"]
    assert "3.90 s" in lines["dbt build --select stg_olist__sellers after edit"]
    assert "0.241" in lines["reference: daily increment / load + full build (scale 1)"]
    check = lines["make check (lint, fast tests, tiny build)"]
    assert "61.40 s" in check and "cpu 98.2 s" in check
    assert all(line == line.rstrip() for line in text.splitlines())


def test_a_changed_figure_changes_the_block(results: dict[str, Any]) -> None:
    changed = copy.deepcopy(results)
    changed["load"]["duckdb"]["ratio"] = 1.777
    changed["goals"][0]["value"] = 1.777
    changed["goals"][0]["met"] = False
    before, after = render.block(results), render.block(changed)
    assert "1.78x" in after and "1.78x" not in before
    assert "| duckdb loader / floor at scale 1 | 1.777 | 1.5 | **missed** |" in after


def test_parts_that_did_not_run_are_left_out(results: dict[str, Any]) -> None:
    for part in ("build", "end_to_end", "iteration", "incremental", "load", "errors"):
        del results[part]
    text = render.table(results)
    assert "dbt build" not in text and "olist run" not in text and "load duckdb" not in text
    assert "scale 1: load" in text


def test_replace_block_keeps_the_rest_of_the_page() -> None:
    original = page()
    updated = render.replace_block(original, "new figures")
    assert updated == page("new figures")
    assert render.replace_block(updated, "new figures") == updated


@pytest.mark.parametrize(
    "broken",
    [
        "# no markers\n",
        page() + render.BEGIN + "\n",
        f"{render.END}\nx\n{render.BEGIN}\n",
    ],
)
def test_replace_block_refuses_a_page_without_one_pair_of_markers(broken: str) -> None:
    with pytest.raises(render.RenderError, match="marker"):
        render.replace_block(broken, "figures")


def test_main_rewrites_the_page_and_reports_bad_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "benchmarks.md"
    target.write_text(page(), encoding="utf-8")
    assert render.main([str(FIXTURE), "--page", str(target)]) == 0
    written = target.read_text(encoding="utf-8")
    assert "2026-01-02T03:04:05Z" in written and written.endswith("## After\n\nText.\n")

    not_json = tmp_path / "latest.json"
    not_json.write_text("{not json", encoding="utf-8")
    assert render.main([str(not_json), "--page", str(target)]) == 1
    error = capsys.readouterr().err
    assert str(not_json) in error and str(target) in error
    assert target.read_text(encoding="utf-8") == written, "a failed render leaves the page"

    not_bench = tmp_path / "other.json"
    not_bench.write_text("{}", encoding="utf-8")
    assert render.main([str(not_bench), "--page", str(target)]) == 1
    assert "not written by run_all.py" in capsys.readouterr().err


def test_the_benchmark_page_has_one_generated_block() -> None:
    text = (ROOT / "docs" / "benchmarks.md").read_text(encoding="utf-8")
    assert text.count(render.BEGIN) == 1 and text.count(render.END) == 1
    assert text.index(render.BEGIN) < text.index(render.END)
    assert "```text\nmeasure" in text.split(render.BEGIN)[1], "the block lost its table"


def test_history_rows_and_tables_come_from_the_json(results: dict[str, Any]) -> None:
    text = render.table(results)
    lines = {line.split("  ")[0]: line for line in text.splitlines()}
    ten = lines["history 10: increment (same drop)"]
    assert "7.25 s" in ten and "full refresh 95.0 s (cpu 160.0 s)" in ten
    assert "ratio 0.076" in ten and "vs history 1: increment 1.86x, full refresh 5.52x" in ten
    assert "peak 5600 MB rss; warehouse 1800 MB" in ten
    one = lines["history 1: increment (same drop)"]
    assert "vs history" not in one and "warehouse" not in one  # not recorded at history 1
    assert "dim_customers 3.20, customers_snapshot 1.90, fct_orders 0.52" in text
    growing = lines["increment nodes growing, history 10 vs 1"]
    assert "more than 0.25 s and 1.5x slower" in growing
    assert "3.20 s" in text.split("increment nodes growing")[1].splitlines()[1]
    (floor,) = (line for line in text.splitlines() if "floor: dbt build" in line)
    assert "one_row, empty project" in floor and "2.60 s" in floor and "1.50x" in floor
    assert "peak RSS load 2.46" in lines["time ratio 1 to 0.1"]
    assert "0.241" in lines["reference: daily increment / load + full build (scale 1)"]

    block = render.block(results)
    assert "| 10 | 7.25 (6.0) | 95.0 (160.0) | 0.076 | 1.86 | 5600 | 1800 |" in block
    assert "| 1 | 3.90 (3.1) | 17.2 (30.5) | 0.227 | 1.00 | 700 |  |" in block
    assert "| fct_orders | 0.52 | 6.40 | 5.88 | 0.08 |" in block
    assert "| stg_olist__products | not built | 1.30 | 1.30 |  |" in block
    assert "Incremental models at history 10" in block
    assert "| view | history 1 | history 10 |" in block
    assert "| seller_performance | 0.021 | 0.183 |" in block
    assert block.index("| history scale |") < block.index("```text")


def test_a_changed_history_figure_changes_the_block(results: dict[str, Any]) -> None:
    changed = copy.deepcopy(results)
    changed["history"]["incremental_models"][0]["saved_seconds"] = 4.44
    changed["history"]["by_scale"]["10"]["increment"]["wall_seconds"] = 9.99
    block = render.block(changed)
    assert "| fct_orders | 0.52 | 6.40 | 4.44 |" in block
    assert "| 10 | 9.99 (6.0) |" in block and "9.99" not in render.block(results)
    del changed["history"]
    assert "history 10: increment" not in render.table(changed)
    assert "| history scale |" not in render.block(changed)
