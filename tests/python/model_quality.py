"""Quality gate over dbt's manifest (and catalog): documentation, primary keys, freshness.

Rules, for the project's own resources:
- every model has a description, declares its columns, and every declared column has one;
- with a catalog (built relations), every column a model really has is declared;
- every model has a primary-key test: `unique` and `not_null` on one column, or a
  `unique_combination_of_columns` test;
- every source table has a freshness threshold and a loaded_at field (or query).

Usable as a script: python tests/python/model_quality.py target/manifest.json [catalog.json]
prints the offenders and exits 1 when there are any.
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PROJECT = "olist_elt"
Manifest = Mapping[str, Any]


@dataclass(frozen=True, order=True)
class Offence:
    unique_id: str
    path: str  # file the fix goes into
    problem: str

    def __str__(self) -> str:
        return f"{self.unique_id} ({self.path}): {self.problem}"


def _blank(text: str | None) -> bool:
    return not (text or "").strip()


def project_models(manifest: Manifest) -> Iterator[dict[str, Any]]:
    for node in manifest["nodes"].values():
        if node["resource_type"] == "model" and node["package_name"] == PROJECT:
            yield node


def _yaml_path(node: Mapping[str, Any]) -> str:
    patch = node.get("patch_path") or ""
    return patch.split("://", 1)[-1] if patch else node["original_file_path"]


def documentation_offences(manifest: Manifest) -> list[Offence]:
    offences = []
    for model in project_models(manifest):
        uid, path = model["unique_id"], _yaml_path(model)
        if _blank(model.get("description")):
            offences.append(Offence(uid, path, "model has no description"))
        columns = model.get("columns") or {}
        if not columns:
            offences.append(Offence(uid, path, "model declares no columns"))
        for name, column in columns.items():
            if _blank(column.get("description")):
                offences.append(Offence(uid, path, f"column {name!r} has no description"))
    return sorted(offences)


def catalog_offences(manifest: Manifest, catalog: Manifest) -> list[Offence]:
    """Columns the built relation has but the model's YAML does not declare."""
    offences = []
    built = catalog.get("nodes", {})
    for model in project_models(manifest):
        uid = model["unique_id"]
        if uid not in built:
            continue  # not built (disabled, ephemeral): nothing to compare
        declared = {name.lower() for name in model.get("columns") or {}}
        for column in built[uid]["columns"]:
            if column.lower() not in declared:
                offences.append(
                    Offence(uid, _yaml_path(model), f"column {column!r} exists but is undocumented")
                )
    return sorted(offences)


def _tests_by_model(manifest: Manifest) -> dict[str, list[dict[str, Any]]]:
    tests: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for node in manifest["nodes"].values():
        if node["resource_type"] == "test" and node.get("test_metadata"):
            attached = node.get("attached_node") or next(
                iter(node.get("depends_on", {}).get("nodes", [])), None
            )
            if attached:
                tests[attached].append(node)
    return tests


def has_primary_key_test(tests: list[dict[str, Any]]) -> bool:
    unique_columns, not_null_columns = set(), set()
    for test in tests:
        name = test["test_metadata"]["name"]
        column = test.get("column_name") or test["test_metadata"].get("kwargs", {}).get(
            "column_name"
        )
        if name == "unique_combination_of_columns":
            return True
        if name == "unique" and column:
            unique_columns.add(column.lower())
        elif name == "not_null" and column:
            not_null_columns.add(column.lower())
    return bool(unique_columns & not_null_columns)


def primary_key_offences(manifest: Manifest) -> list[Offence]:
    tests = _tests_by_model(manifest)
    return sorted(
        Offence(
            model["unique_id"],
            _yaml_path(model),
            "no primary-key test (unique + not_null on one column, "
            "or unique_combination_of_columns)",
        )
        for model in project_models(manifest)
        if not has_primary_key_test(tests.get(model["unique_id"], []))
    )


def freshness_offences(manifest: Manifest) -> list[Offence]:
    offences = []
    for source in manifest["sources"].values():
        if source["package_name"] != PROJECT:
            continue
        uid, path = source["unique_id"], source["original_file_path"]
        freshness = source.get("freshness") or {}
        thresholds = [freshness.get("warn_after") or {}, freshness.get("error_after") or {}]
        if not any(threshold.get("count") and threshold.get("period") for threshold in thresholds):
            offences.append(Offence(uid, path, "source table has no freshness threshold"))
        if _blank(source.get("loaded_at_field")) and _blank(source.get("loaded_at_query")):
            offences.append(Offence(uid, path, "source table has no loaded_at_field"))
    return sorted(offences)


def all_offences(manifest: Manifest, catalog: Manifest | None = None) -> list[Offence]:
    offences = [
        *documentation_offences(manifest),
        *primary_key_offences(manifest),
        *freshness_offences(manifest),
    ]
    if catalog is not None:
        offences += catalog_offences(manifest, catalog)
    return offences


def report(offences: list[Offence]) -> str:
    return "\n".join(f"  {offence}" for offence in offences)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if not 1 <= len(args) <= 2:
        sys.stderr.write("usage: model_quality.py MANIFEST.json [CATALOG.json]\n")
        return 2
    manifest = json.loads(Path(args[0]).read_text(encoding="utf-8"))
    catalog = json.loads(Path(args[1]).read_text(encoding="utf-8")) if len(args) == 2 else None
    offences = all_offences(manifest, catalog)
    if offences:
        sys.stderr.write(f"{len(offences)} quality offence(s):\n{report(offences)}\n")
        return 1
    sys.stderr.write("quality gate passed\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
