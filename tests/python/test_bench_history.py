"""The arithmetic of `make bench`'s history part and its goals, on made-up figures.

benchmarks/history_benchmark.py composes a history from the drops' set and a background set,
then says which increment nodes grow with the history and what each incremental model saves;
run_all.py judges the goals and picks the scales. No warehouse here: only the logic.
"""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))

import history_benchmark as hb  # noqa: E402
import run_all  # noqa: E402


@pytest.mark.parametrize(
    ("history", "drops", "background"),
    [(1, 1, None), (3, 1, 2), (10, 1, 9), (30, 1, 29), (0.3, 0.1, 0.2), (1, 0.1, 0.9)],
)
def test_background_is_the_history_less_the_drops_set(
    history: float, drops: float, background: float | None
) -> None:
    assert hb.background_scale(history, drops) == background


def test_a_history_smaller_than_the_drops_set_is_refused() -> None:
    with pytest.raises(ValueError, match="smaller than the drop scale"):
        hb.background_scale(0.5, 1)
    with pytest.raises(ValueError, match="drop scale must be > 0"):
        hb.background_scale(1, 0)


def test_growth_needs_both_the_absolute_and_the_relative_threshold() -> None:
    found = hb.growing_nodes(
        {
            1.0: {"model.a": 1.0, "model.noise": 0.05, "model.big": 8.0, "model.flat": 2.0},
            3.0: {"model.a": 1.1},
            10.0: {
                "model.a": 4.0,  # grows: +3 s, 4x
                "model.noise": 0.2,  # 4x, but +0.15 s: dbt's per-node noise
                "model.big": 8.5,  # +0.5 s, but 1.06x
                "model.flat": 2.1,
                "model.new": 0.6,  # not run at history 1: counts from zero
            },
        },
        min_seconds=0.25,
        min_ratio=1.5,
    )
    assert [n["node"] for n in found] == ["model.a", "model.new"]
    assert found[0] == {
        "node": "model.a",
        "seconds_smallest": 1.0,
        "seconds_largest": 4.0,
        "ratio": 4.0,
    }
    assert found[1]["ratio"] is None
    assert hb.growing_nodes({1.0: {"model.a": 1.0}}) == [], "one scale: nothing to compare"


def test_saving_per_incremental_model() -> None:
    rows = hb.incremental_savings(
        ["model.fct", "model.stg"],
        increment={"model.fct": 0.5, "model.other": 3.0},
        full_refresh={"model.fct": 4.0, "model.stg": 2.0, "model.other": 3.0},
    )
    assert rows == [
        {
            "model": "model.fct",
            "increment_seconds": 0.5,
            "full_refresh_seconds": 4.0,
            "saved_seconds": 3.5,
            "ratio": 0.125,
        },
        {  # not selected by the day's build: it saves its whole full refresh
            "model": "model.stg",
            "increment_seconds": None,
            "full_refresh_seconds": 2.0,
            "saved_seconds": 2.0,
            "ratio": None,
        },
    ]
    with pytest.raises(ValueError, match=r"model\.gone: incremental in the manifest"):
        hb.incremental_savings(["model.gone"], {}, {})


def scale_row(increment: float, full: float, nodes: dict[str, float]) -> dict[str, Any]:
    return {
        "increment": {"wall_seconds": increment, "node_seconds": nodes},
        "full_refresh": {"wall_seconds": full, "node_seconds": {**nodes, "model.fct": 9.0}},
        "incremental_models": ["model.fct"],
    }


def test_summary_compares_the_smallest_and_largest_history() -> None:
    summary = hb.summarise(
        {
            1.0: scale_row(4.0, 20.0, {"model.fct": 0.5, "model.dim": 0.5}),
            10.0: scale_row(6.0, 80.0, {"model.fct": 0.6, "model.dim": 3.0}),
        }
    )
    assert (summary["smallest"], summary["largest"]) == (1.0, 10.0)
    assert [n["node"] for n in summary["growing_nodes"]] == ["model.dim"]
    (fct,) = summary["incremental_models"]
    assert fct["increment_seconds"] == 0.6 and fct["saved_seconds"] == 8.4


def test_history_goals_at_10_and_at_the_largest() -> None:
    history = {
        "by_scale": {
            key: scale_row(inc, full, {})
            for key, inc, full in (("1", 4.0, 20.0), ("3", 5.0, 40.0), ("10", 8.0, 100.0))
        }
    }
    goals = run_all.history_goals(history)
    assert goals == [
        (
            "increment at history 10 / increment at history 1 (same drop)",
            2.0,
            run_all.GOAL_HISTORY_GROWTH,
        ),
        ("increment / full refresh at history 10", 0.08, run_all.GOAL_HISTORY_INCREMENT_RATIO),
    ]
    history["by_scale"]["30"] = scale_row(12.0, 400.0, {})
    names = [name for name, _, _ in run_all.history_goals(history)]
    assert names[2:] == [
        "increment at history 30 / increment at history 1 (same drop)",
        "increment / full refresh at history 30",
    ]
    assert run_all.history_goals({}) == []


def test_a_history_goal_just_above_its_limit_is_missed() -> None:
    # 17.622 s / 350.5 s = 0.05028: rounded to three decimals it would read 0.05 and pass.
    history = {"by_scale": {"1": scale_row(5.211, 26.1, {}), "30": scale_row(17.622, 350.5, {})}}
    goals = {g["goal"]: g for g in run_all.goals({"history": history}, 1.0)}
    goal = goals["increment / full refresh at history 30"]
    assert (goal["value"], goal["met"]) == (0.05028, False)
    history["by_scale"]["30"] = scale_row(17.5, 350.0, {})  # exactly the limit
    assert run_all.goals({"history": history}, 1.0)[-1]["met"]


@pytest.mark.parametrize(
    ("given", "with_30", "default_on", "expected"),
    [
        (None, None, False, [0.1, 1, 3, 10]),
        (None, None, True, [0.1, 1, 3, 10, 30]),
        ("1,3", None, True, [1, 3]),  # scales given: exactly those
        ("1,3", True, False, [1, 3, 30]),
        ("1,30", False, True, [1]),
        ("3,1,3", None, False, [1, 3]),
    ],
)
def test_scale_list_and_the_scale_30_option(
    monkeypatch: pytest.MonkeyPatch,
    given: str | None,
    with_30: bool | None,
    default_on: bool,
    expected: list[float],
) -> None:
    monkeypatch.setattr(run_all, "WITH_30_BY_DEFAULT", default_on)
    assert run_all.scale_list(given, "0.1,1,3,10", with_30) == expected


def test_bad_history_options_are_refused(capsys: pytest.CaptureFixture[str]) -> None:
    for argv, message in (
        (["--history-scales", "0.5,1"], "smaller than the drop scale"),
        (["--history-scales", "1,x"], "comma-separated numbers"),
        (["--background-seed", "42"], "must differ from --seed"),
    ):
        with pytest.raises(SystemExit):
            run_all.parse_args(argv)
        assert message in capsys.readouterr().err
    args = run_all.parse_args(["--history-scales", "0.3,0.1", "--history-drop-scale", "0.1"])
    assert args.history_scale_list == [0.1, 0.3]
    assert args.history_day == date(2018, 8, 15)


def test_scale_ratios_show_time_and_memory_of_the_largest_against_the_one_below() -> None:
    def phase(seconds: float, rss: float) -> dict[str, float]:
        return {"seconds": seconds, "peak_rss_mb": rss, "peak_pss_mb": rss}

    rows = {
        scale: {"load": phase(scale, 300.0), "build": phase(10 + 5 * scale, 500.0 * scale)}
        for scale in (1.0, 10.0, 30.0)
    }
    generation = {scale: phase(6.0 * scale, 50.0) for scale in rows}
    summary = run_all.scale_summary(rows, generation, 1.0)
    top = summary["time_ratio_30_to_10"]
    assert top["scale_factor"] == 3.0
    assert top["build"] == pytest.approx(160 / 60, abs=1e-3)
    assert top["peak_rss"] == {"load": 1.0, "build": 3.0}
    assert summary["time_ratio_30_to_1"]["peak_rss"]["build"] == 30.0
    goals = {g["goal"]: g for g in run_all.goals({"scale": summary}, 1.0)}
    assert goals["build peak RSS ratio_30_to_10"]["value"] == 3.0
    assert goals["build peak RSS ratio_30_to_10"]["met"]
    del rows[30.0]
    assert "time_ratio_10_to_1" in run_all.scale_summary(rows, generation, 1.0)
    assert not any(
        key.startswith("time_ratio_10_to_") and key != "time_ratio_10_to_1"
        for key in run_all.scale_summary(rows, generation, 1.0)
    )


def test_drop_digest_names_the_missing_drop(tmp_path: Path) -> None:
    folder = tmp_path / "ingest_date=2018-08-15"
    folder.mkdir()
    (folder / "olist_orders_dataset.csv").write_text("a\n1\n")
    first = hb.drop_digest(tmp_path, date(2018, 8, 15))
    (folder / "olist_orders_dataset.csv").write_text("a\n2\n")
    assert hb.drop_digest(tmp_path, date(2018, 8, 15)) != first
    with pytest.raises(hb.HistoryError, match="no drop for 2018-08-16"):
        hb.drop_digest(tmp_path, date(2018, 8, 16))


def test_the_increment_reported_is_the_median_run() -> None:
    runs = [
        {"wall_seconds": 9.0, "node_seconds": {"model.a": 3.0}},
        {"wall_seconds": 6.0, "node_seconds": {"model.a": 1.0}},
        {"wall_seconds": 7.5, "node_seconds": {"model.a": 2.0}},
    ]
    chosen = hb.median_run(runs)
    assert chosen["wall_seconds"] == 7.5 and chosen["node_seconds"] == {"model.a": 2.0}
    assert chosen["wall_seconds_runs"] == [9.0, 6.0, 7.5], "every run's time, in run order"
    assert hb.median_run(runs[:2])["wall_seconds"] == 6.0, "an even count: the lower middle"
    assert "wall_seconds_runs" not in runs[2], "the runs themselves are left as they were"
    with pytest.raises(ValueError, match="no run"):
        hb.median_run([])
