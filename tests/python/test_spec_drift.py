"""The loader, the generator and the dbt project agree with one description of the files.

loaders/olist_elt/spec.py is that description. These tests fail, naming the file and the
column, when the dbt sources, the staging models or the raw tables drift away from it.
"""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import pytest
import yaml

from dbt_fixtures import GeneratedBuild
from olist_elt.spec import LINEAGE_COLUMNS, OLIST_FILES, OlistFile

PROJECT_ROOT = Path(__file__).resolve().parents[2]
STAGING_DIR = PROJECT_ROOT / "models" / "staging" / "olist"

# What DuckDB reports for each logical staging type of the spec.
DUCKDB_TYPES = {
    "string": "VARCHAR",
    "integer": "INTEGER",
    "money": "DECIMAL(12,2)",
    "float": "DOUBLE",
    "timestamp": "TIMESTAMP",
    "date": "DATE",
}

CLEAN_CAST = re.compile(
    r"\{\{\s*clean_cast\(\s*'(?P<raw>\w+)'\s*(?:,\s*'(?P<type>\w+)'\s*)?\)\s*\}\}\s+as\s+(?P<alias>\w+)"
)


def _sources() -> dict[str, dict]:
    document = yaml.safe_load((STAGING_DIR / "_olist__sources.yml").read_text(encoding="utf-8"))
    (source,) = [s for s in document["sources"] if s["name"] == "olist"]
    return {table["name"]: table for table in source["tables"]}


def test_sources_list_exactly_the_spec_tables() -> None:
    assert sorted(_sources()) == sorted(spec.table for spec in OLIST_FILES)


@pytest.mark.parametrize("spec", OLIST_FILES, ids=lambda s: s.table)
def test_source_columns_follow_the_file_header(spec: OlistFile) -> None:
    columns = [column["name"] for column in _sources()[spec.table]["columns"]]
    assert columns == [*spec.column_names, *LINEAGE_COLUMNS], (
        f"_olist__sources.yml table {spec.table}: columns differ from {spec.file_name} in spec.py"
    )


@pytest.mark.parametrize("spec", OLIST_FILES, ids=lambda s: s.table)
def test_staging_model_casts_every_column_as_the_spec_says(spec: OlistFile) -> None:
    path = STAGING_DIR / f"{spec.staging_model}.sql"
    assert path.is_file(), f"{spec.file_name}: staging model {path.name} is missing"
    sql = path.read_text(encoding="utf-8")
    assert f"source('olist', '{spec.table}')" in sql, f"{path.name} must read source {spec.table}"
    casts = {
        match["raw"]: (match["type"] or "string", match["alias"])
        for match in CLEAN_CAST.finditer(sql)
    }
    expected = {column.name: (column.type, column.staged_as) for column in spec.columns}
    assert casts == expected, f"{path.name}: clean_cast(raw, type) as name differs from spec.py"


def test_models_yaml_documents_every_staging_model() -> None:
    document = yaml.safe_load((STAGING_DIR / "_olist__models.yml").read_text(encoding="utf-8"))
    documented = {model["name"] for model in document["models"]}
    assert {spec.staging_model for spec in OLIST_FILES} <= documented


def test_built_tables_have_the_spec_names_and_types(
    generated_duckdb_build: GeneratedBuild,
) -> None:
    with duckdb.connect(str(generated_duckdb_build.database)) as con:
        for spec in OLIST_FILES:
            raw = con.execute(
                "select column_name, data_type from information_schema.columns "
                "where table_schema = 'raw_olist' and table_name = ? order by ordinal_position",
                [spec.table],
            ).fetchall()
            assert [name for name, _ in raw] == [*spec.column_names, *LINEAGE_COLUMNS]
            assert {kind for name, kind in raw if name in spec.column_names} == {"VARCHAR"}

            staged = dict(
                con.execute(
                    "select column_name, data_type from information_schema.columns "
                    "where table_schema = 'analytics_staging' and table_name = ?",
                    [spec.staging_model],
                ).fetchall()
            )
            for column in spec.columns:
                assert staged.get(column.staged_as) == DUCKDB_TYPES[column.type], (
                    f"{spec.staging_model}.{column.staged_as}: expected "
                    f"{DUCKDB_TYPES[column.type]}, found {staged.get(column.staged_as)}"
                )
