"""`make diff`: its figures against a diff the test computes itself.

A copy of the project is built at scale 0.01 into a DuckDB file that plays production (its
manifest and file are the baseline). Each test edits another copy, runs the diff, and then
reads both versions of every relation the diff compared, whole, into Python: the rows
added, removed and changed by primary key and the totals of each measure must be those the
report gives. The rounding change must move rows in the model and in its children, a
comment must move none, a renamed column must show as one removed and one added.
"""

from __future__ import annotations

import json
import math
import shutil
from collections import Counter
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest

from dbt_cli import copy_project, run_dbt, write_profiles
from olist_elt.cli import main as olist
from olist_elt.generate.dataset import generate
from olist_elt.load.loader import load
from olist_elt.review.diff import APPROXIMATE_TOLERANCE, DiffError, RelationDiff, Report, diff

pytestmark = pytest.mark.slow

ALLOCATION = Path("models/intermediate/int_order_payments_allocated_to_items.sql")
ALLOCATION_YAML = Path("models/intermediate/_int__models.yml")
DELIVERY = Path("models/marts/operations/delivery_performance_by_state.sql")
DELIVERY_YAML = Path("models/marts/operations/_operations__models.yml")


@pytest.fixture(scope="module")
def baseline(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    work = tmp_path_factory.mktemp("review_diff")
    project = copy_project(work / "project")
    prod = work / "prod"
    database = prod / "olist.duckdb"
    profiles = write_profiles(work / "profiles", database)
    generate(work / "data", scale=0.01, seed=7)
    report = load(str(work / "data"), target="duckdb", profiles_dir=str(profiles))
    assert report.ok, report.summary()
    run_dbt(
        "build",
        "--exclude-resource-type",
        "test",
        "unit_test",
        project_dir=project,
        profiles_dir=profiles,
        target_path=prod,
        timeout=900,
    ).check()
    return {"work": work, "project": project, "prod": prod, "profiles": profiles}


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{old!r} should occur once in {path}"
    path.write_text(text.replace(old, new), encoding="utf-8")


def _run(baseline: dict[str, Path], name: str, *edits: tuple[Path, str, str]) -> Report:
    project = baseline["work"] / name
    shutil.copytree(baseline["project"], project)
    for relative, old, new in edits:
        _edit(project / relative, old, new)
    return diff(
        baseline["prod"],
        project_dir=project,
        profiles_dir=baseline["profiles"],
        work_dir=baseline["work"] / f"{name}-diff",
    )


Fetch = Callable[[str], tuple[list[str], list[tuple[Any, ...]]]]


def duckdb_fetch(path: Path) -> Fetch:
    def fetch(relation: str) -> tuple[list[str], list[tuple[Any, ...]]]:
        with duckdb.connect(str(path), read_only=True) as conn:
            cursor = conn.execute(f"select * from {relation}")
            return [d[0].lower() for d in cursor.description], cursor.fetchall()

    return fetch


def same(left: Any, right: Any) -> bool:
    """Equal, floats within the diff's relative tolerance (their sums vary in the last bits)."""
    if isinstance(left, float) and isinstance(right, float):
        return math.isclose(left, right, rel_tol=APPROXIMATE_TOLERANCE)
    return left == right


def same_values(left: tuple[Any, ...], right: tuple[Any, ...]) -> bool:
    return len(left) == len(right) and all(map(same, left, right))


def reference_diff(rel: RelationDiff, fetch_base: Fetch, fetch_current: Fetch) -> dict:
    """The same comparison, in Python, from both versions of the relation read whole."""
    base_cols, base_rows = fetch_base(rel.base_relation)
    cur_cols, cur_rows = fetch_current(rel.current_relation)
    common = [c for c in cur_cols if c in base_cols]
    key = rel.primary_key

    def project(cols: list[str], row: tuple[Any, ...], names: list[str]) -> tuple[Any, ...]:
        return tuple(row[cols.index(n)] for n in names)

    out: dict[str, Any] = {"rows_base": len(base_rows), "rows_current": len(cur_rows)}
    if key:
        values = [c for c in common if c not in key]
        base = {project(base_cols, r, key): project(base_cols, r, values) for r in base_rows}
        cur = {project(cur_cols, r, key): project(cur_cols, r, values) for r in cur_rows}
        both = base.keys() & cur.keys()
        out["added"] = len(cur.keys() - base.keys())
        out["removed"] = len(base.keys() - cur.keys())
        out["changed"] = sum(1 for k in both if not same_values(base[k], cur[k]))
        out["per_column"] = {
            col: n
            for i, col in enumerate(values)
            if (n := sum(1 for k in both if not same(base[k][i], cur[k][i])))
        }
    else:
        base_bag = Counter(project(base_cols, r, common) for r in base_rows)
        cur_bag = Counter(project(cur_cols, r, common) for r in cur_rows)
        out["added"] = sum((cur_bag - base_bag).values())
        out["removed"] = sum((base_bag - cur_bag).values())
    out["totals"] = {
        m.column: (
            _total(base_rows, base_cols.index(m.column)),
            _total(cur_rows, cur_cols.index(m.column)),
        )
        for m in rel.measures
    }
    return out


def _total(rows: list[tuple[Any, ...]], index: int) -> float | None:
    values = [r[index] for r in rows if r[index] is not None]
    if not values:
        return None
    return float(sum(Decimal(str(v)) for v in values))


def check_against_reference(
    report: Report, fetch_base: Fetch, fetch_current: Fetch
) -> dict[str, dict]:
    """Assert every compared relation's figures; return the reference figures by name."""
    figures = {}
    for rel in report.relations:
        if rel.status != "compared":
            continue
        ref = reference_diff(rel, fetch_base, fetch_current)
        figures[rel.name] = ref
        assert (rel.rows_base, rel.rows_current) == (ref["rows_base"], ref["rows_current"])
        assert (rel.rows_added, rel.rows_removed) == (ref["added"], ref["removed"]), rel.name
        if rel.primary_key:
            assert rel.rows_changed == ref["changed"], rel.name
            reported = {c.column: c.rows for c in rel.changed_columns}
            assert reported == ref["per_column"], rel.name
        for measure in rel.measures:
            before, after = ref["totals"][measure.column]
            assert measure.base_total == pytest.approx(before), (rel.name, measure.column)
            assert measure.current_total == pytest.approx(after), (rel.name, measure.column)
    return figures


def assert_matches_reference(baseline: dict[str, Path], report: Report) -> dict[str, dict]:
    # diff() copies production into <work_dir>/warehouse/ and builds the review schemas there.
    name = report_names[id(report)]
    review_file = baseline["work"] / f"{name}-diff" / "warehouse" / "olist.duckdb"
    return check_against_reference(
        report, duckdb_fetch(baseline["prod"] / "olist.duckdb"), duckdb_fetch(review_file)
    )


def _diff(baseline: dict[str, Path], name: str, *edits: tuple[Path, str, str]) -> Report:
    report = _run(baseline, name, *edits)
    report_names[id(report)] = name
    return report


report_names: dict[int, str] = {}


def test_remainder_to_the_last_item_moves_cents_in_the_model_and_its_children(
    baseline: dict[str, Path],
) -> None:
    report = _diff(
        baseline,
        "remainder_last",
        (
            ALLOCATION,
            "            order by order_items.order_item_id\n",
            "            order by order_items.order_item_id desc\n",
        ),
    )
    assert report.modified == ["model.olist_elt.int_order_payments_allocated_to_items"]
    assert "model.olist_elt.fct_order_items" in report.reached
    figures = assert_matches_reference(baseline, report)

    allocation = report.relation("int_order_payments_allocated_to_items")
    assert allocation.primary_key == ["order_id", "order_item_id"]
    assert allocation.rows_changed and allocation.rows_changed > 0
    assert [c.column for c in allocation.changed_columns] == ["allocated_payment_brl"]
    # Cents move between items of one order: every order's total stays the same.
    paid = next(m for m in allocation.measures if m.column == "allocated_payment_brl")
    assert paid.delta == pytest.approx(0)
    assert paid.largest and all(before != after for _, before, after in paid.largest)
    fct = report.relation("fct_order_items")
    assert fct.rows_changed == figures["fct_order_items"]["changed"] == allocation.rows_changed
    moved = {r.name for r in report.relations if r.rows_changed}
    assert {"int_order_payments_allocated_to_items", "fct_order_items"} <= moved
    markdown = report.markdown()
    assert "`allocated_payment_brl` | " + f"{allocation.rows_changed:,}" in markdown
    assert "int_order_payments_allocated_to_items --> fct_order_items" in markdown


def test_a_comment_changes_no_row(baseline: dict[str, Path]) -> None:
    report = _diff(
        baseline,
        "comment",
        (DELIVERY, "select * from final", "-- a comment under review\nselect * from final"),
    )
    assert report.modified == ["model.olist_elt.delivery_performance_by_state"]
    assert_matches_reference(baseline, report)
    rel = report.relation("delivery_performance_by_state")
    assert rel.status == "compared" and rel.rows_base and rel.rows_base > 0
    assert (rel.rows_added, rel.rows_removed, rel.rows_changed) == (0, 0, 0)
    assert not rel.data_changed
    assert "0 of 1 relations have different data" in report.markdown()


def test_a_renamed_column_is_one_removed_and_one_added(baseline: dict[str, Path]) -> None:
    report = _diff(
        baseline,
        "rename",
        (
            DELIVERY,
            "double precision) as average_days_promised,",
            "double precision) as average_days_promised_to_customer,",
        ),
        (
            DELIVERY_YAML,
            "- name: average_days_promised\n",
            "- name: average_days_promised_to_customer\n",
        ),
    )
    assert_matches_reference(baseline, report)
    rel = report.relation("delivery_performance_by_state")
    assert rel.removed_columns == ["average_days_promised"]
    assert rel.added_columns == ["average_days_promised_to_customer"]
    assert rel.rows_changed == 0
    assert "+average_days_promised_to_customer; -average_days_promised" in report.markdown()


def test_a_model_without_a_key_is_compared_as_a_multiset(baseline: dict[str, Path]) -> None:
    key_test = (
        "    data_tests:\n"
        "      - unique_combination_of_columns:\n"
        "          arguments:\n"
        "            combination_of_columns: [order_id, order_item_id]\n"
    )
    report = _diff(
        baseline,
        "no_key",
        (
            ALLOCATION,
            "            order by order_items.order_item_id\n",
            "            order by order_items.order_item_id desc\n",
        ),
        (ALLOCATION_YAML, key_test, "    data_tests:\n"),
    )
    figures = assert_matches_reference(baseline, report)
    rel = report.relation("int_order_payments_allocated_to_items")
    assert rel.primary_key == [] and rel.compared_by.startswith("row multiset")
    changed_by_key = report.relation("fct_order_items").rows_changed
    # Each changed row is one row gone and one row new.
    assert rel.rows_added == rel.rows_removed == changed_by_key
    assert figures["int_order_payments_allocated_to_items"]["added"] == changed_by_key
    assert "row multiset (no primary key" in report.markdown()


def test_no_baseline_is_a_one_line_error(
    baseline: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = olist(
        [
            "diff",
            "--baseline",
            str(tmp_path / "nowhere"),
            "--project-dir",
            str(baseline["project"]),
            "--profiles-dir",
            str(baseline["profiles"]),
        ]
    )
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert len(err.splitlines()) == 1
    assert "no baseline manifest at" in err and "make baseline" in err


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("dbt_schema_version", "https://schemas.getdbt.com/dbt/manifest/v11.json", "v11"),
        ("dbt_version", "1.10.4", "dbt 1.10.4"),
        ("project_name", "jaffle_shop", "jaffle_shop"),
        ("adapter_type", "postgres", "built on 'postgres'"),
    ],
)
def test_a_baseline_from_another_version_is_refused(
    baseline: dict[str, Path], tmp_path: Path, field: str, value: str, expected: str
) -> None:
    other = tmp_path / "other"
    other.mkdir()
    manifest = json.loads((baseline["prod"] / "manifest.json").read_text())
    manifest["metadata"][field] = value
    (other / "manifest.json").write_text(json.dumps(manifest))
    shutil.copy(baseline["prod"] / "olist.duckdb", other / "olist.duckdb")
    with pytest.raises(DiffError, match=expected) as caught:
        diff(other, project_dir=baseline["project"], profiles_dir=baseline["profiles"])
    assert "\n" not in str(caught.value)


def test_a_baseline_without_its_warehouse_is_refused(
    baseline: dict[str, Path], tmp_path: Path
) -> None:
    shutil.copy(baseline["prod"] / "manifest.json", tmp_path / "manifest.json")
    with pytest.raises(DiffError, match=r"no baseline warehouse at .*olist\.duckdb"):
        diff(tmp_path, project_dir=baseline["project"], profiles_dir=baseline["profiles"])
