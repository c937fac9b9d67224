"""Quality gate: every model and column documented, a primary-key test on every model,
freshness on every source table. The rules are in model_quality.py; the first tests show
they catch each kind of offender, the last applies them to the project's manifest."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from dbt_cli import PROJECT_ROOT, load_json, run_dbt, write_profiles
from model_quality import (
    all_offences,
    catalog_offences,
    documentation_offences,
    freshness_offences,
    primary_key_offences,
    report,
)


def _model(name: str, columns: dict[str, str], description: str = "A model.") -> dict[str, Any]:
    return {
        "unique_id": f"model.olist_elt.{name}",
        "resource_type": "model",
        "package_name": "olist_elt",
        "name": name,
        "description": description,
        "original_file_path": f"models/{name}.sql",
        "patch_path": "olist_elt://models/_models.yml",
        "columns": {
            column: {"name": column, "description": text} for column, text in columns.items()
        },
    }


def _test(model: str, kind: str, column: str | None) -> dict[str, Any]:
    uid = f"test.olist_elt.{kind}_{model}_{column}"
    return {
        "unique_id": uid,
        "resource_type": "test",
        "package_name": "olist_elt",
        "attached_node": f"model.olist_elt.{model}",
        "column_name": column,
        "test_metadata": {"name": kind, "kwargs": {"column_name": column}},
        "depends_on": {"nodes": [f"model.olist_elt.{model}"]},
    }


def _source(table: str, freshness: dict[str, Any] | None, loaded_at: str | None) -> dict[str, Any]:
    return {
        "unique_id": f"source.olist_elt.olist.{table}",
        "resource_type": "source",
        "package_name": "olist_elt",
        "original_file_path": "models/staging/_sources.yml",
        "freshness": freshness,
        "loaded_at_field": loaded_at,
        "loaded_at_query": None,
    }


GOOD_FRESHNESS = {"warn_after": {"count": 24, "period": "hour"}, "error_after": {}}


@pytest.fixture
def good_manifest() -> dict[str, Any]:
    """A tiny manifest that passes every rule."""
    nodes = [
        _model("orders", {"order_id": "Natural key.", "status": "Status."}),
        _model("order_items", {"order_id": "Order.", "item_id": "Line."}),
        _test("orders", "unique", "order_id"),
        _test("orders", "not_null", "order_id"),
        _test("order_items", "unique_combination_of_columns", None),
    ]
    return {
        "nodes": {node["unique_id"]: node for node in nodes},
        "sources": {s["unique_id"]: s for s in [_source("orders", GOOD_FRESHNESS, "_loaded_at")]},
    }


def test_rules_accept_a_compliant_manifest(good_manifest: dict[str, Any]) -> None:
    assert all_offences(good_manifest) == []


def test_rules_name_undocumented_models_and_columns(good_manifest: dict[str, Any]) -> None:
    manifest = copy.deepcopy(good_manifest)
    orders = manifest["nodes"]["model.olist_elt.orders"]
    orders["description"] = "  "
    orders["columns"]["status"]["description"] = ""
    manifest["nodes"]["model.olist_elt.order_items"]["columns"] = {}
    problems = {(o.unique_id, o.problem) for o in documentation_offences(manifest)}
    assert problems == {
        ("model.olist_elt.orders", "model has no description"),
        ("model.olist_elt.orders", "column 'status' has no description"),
        ("model.olist_elt.order_items", "model declares no columns"),
    }


def test_rules_require_unique_and_not_null_on_the_same_column(
    good_manifest: dict[str, Any],
) -> None:
    manifest = copy.deepcopy(good_manifest)
    # not_null moved to another column: no single column is both unique and not null.
    del manifest["nodes"]["test.olist_elt.not_null_orders_order_id"]
    extra = _test("orders", "not_null", "status")
    manifest["nodes"][extra["unique_id"]] = extra
    offenders = [o.unique_id for o in primary_key_offences(manifest)]
    assert offenders == ["model.olist_elt.orders"]


def test_rules_require_source_freshness_and_loaded_at(good_manifest: dict[str, Any]) -> None:
    manifest = copy.deepcopy(good_manifest)
    for source in (
        _source("no_freshness", None, "_loaded_at"),
        _source("empty_thresholds", {"warn_after": {}, "error_after": {}}, "_loaded_at"),
        _source("no_loaded_at", GOOD_FRESHNESS, None),
    ):
        manifest["sources"][source["unique_id"]] = source
    problems = {(o.unique_id.rsplit(".", 1)[-1], o.problem) for o in freshness_offences(manifest)}
    assert problems == {
        ("no_freshness", "source table has no freshness threshold"),
        ("empty_thresholds", "source table has no freshness threshold"),
        ("no_loaded_at", "source table has no loaded_at_field"),
    }


def test_catalog_rule_names_built_but_undeclared_columns(good_manifest: dict[str, Any]) -> None:
    catalog = {
        "nodes": {
            "model.olist_elt.orders": {
                "columns": {"ORDER_ID": {}, "status": {}, "_loaded_at": {}},
            }
        }
    }
    offences = catalog_offences(good_manifest, catalog)
    assert [(o.unique_id, o.problem) for o in offences] == [
        ("model.olist_elt.orders", "column '_loaded_at' exists but is undocumented")
    ]


@pytest.fixture(scope="module")
def project_manifest(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The project's manifest from `dbt parse` (no warehouse needed)."""
    work = tmp_path_factory.mktemp("quality_gate")
    profiles = write_profiles(work / "profiles", work / "unused.duckdb")
    target = work / "target"
    run_dbt("parse", project_dir=PROJECT_ROOT, profiles_dir=profiles, target_path=target).check()
    return load_json(Path(target) / "manifest.json")


@pytest.mark.slow
def test_project_passes_the_quality_gate(project_manifest: dict[str, Any]) -> None:
    models = [n for n in project_manifest["nodes"].values() if n["resource_type"] == "model"]
    assert models, "the manifest has no models"
    assert project_manifest["sources"], "the manifest has no sources"
    offences = all_offences(project_manifest)
    assert not offences, f"{len(offences)} quality offence(s):\n{report(offences)}"


# PostgreSQL truncates nothing: a relation name over 63 bytes is an error, and dbt names the
# relation of a unit test's fixture after the test.
POSTGRES_NAME_LIMIT = 63


def test_unit_test_names_fit_a_postgres_relation_name() -> None:
    import yaml

    names = [
        unit_test["name"]
        for path in sorted((PROJECT_ROOT / "models").rglob("*.yml"))
        for unit_test in (yaml.safe_load(path.read_text()) or {}).get("unit_tests", [])
    ]
    assert names, "no unit test found under models/"
    too_long = [name for name in names if len(name.encode()) > POSTGRES_NAME_LIMIT]
    assert not too_long, f"unit test names over {POSTGRES_NAME_LIMIT} bytes: {too_long}"
