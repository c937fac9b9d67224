"""The whole pipeline on PostgreSQL, and the same figures as on DuckDB.

The consistent real Olist set is loaded into a fresh database of the session's throwaway
PostgreSQL server with the project's loader, then `dbt build` (seeds, models, snapshots,
data tests, unit tests) runs on it with the `postgres` output of profiles.yml.example.
The cross-engine test fingerprints every model on both engines (row count, and per column
a sum, a count of trues, distinct values or min/max by type) and compares them: money and
integers exactly, floats within 1e-6.
"""

from __future__ import annotations

import json
import logging
import math
import shutil
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest

from olist_elt.dev import postgres as devserver
from olist_elt.load.loader import load
from olist_elt.spec import LINEAGE_COLUMNS
from pg_server import admin, query
from redshift_compile import PROJECT_ROOT, patched_env, run_dbt

log = logging.getLogger(__name__)

pytestmark = pytest.mark.slow

FLOAT_TOLERANCE = 1e-6
Query = Callable[[str], list[tuple[Any, ...]]]


@dataclass
class PgBuild:
    server: devserver.PgServer
    database: str
    target_path: Path
    seconds: dict[str, float] = field(default_factory=dict)

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        return query(self.server.dsn(self.database), sql)


@pytest.fixture(scope="module")
def pg_build(
    pg_server: devserver.PgServer,
    real_olist_dir: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[PgBuild]:
    """The real set loaded and the whole project built on a fresh PostgreSQL database."""
    database = f"pipeline_{uuid.uuid4().hex[:8]}"
    devserver.create_database(pg_server, database)
    work = tmp_path_factory.mktemp("pg_pipeline")
    build = PgBuild(pg_server, database, work / "target")
    env = {**pg_server.env(), "OLIST_PG_DATABASE": database, "OLIST_TARGET": "postgres"}
    profiles = work / "profiles"
    profiles.mkdir()
    shutil.copyfile(PROJECT_ROOT / "profiles.yml.example", profiles / "profiles.yml")
    try:
        with patched_env(env):
            clock = time.perf_counter()
            report = load(str(real_olist_dir), target="postgres", profiles_dir=str(profiles))
            build.seconds["load"] = time.perf_counter() - clock
            failed = [f"{t.table}: {t.error}" for t in report.tables if t.error]
            assert report.ok, f"loading {real_olist_dir} into PostgreSQL failed: {failed}"
            log.info("postgres load: %s", report.summary())

            clock = time.perf_counter()
            run_dbt(
                ["build", "--target", "postgres"],
                project_dir=PROJECT_ROOT,
                work_dir=work,
                target_path=build.target_path,
            )
            build.seconds["dbt build"] = time.perf_counter() - clock
        log.info("postgres pipeline timings: %s", build.seconds)
        yield build
    finally:
        admin(pg_server, f'drop database if exists "{database}" with (force)')


def test_postgres_build_runs_every_node(pg_build: PgBuild) -> None:
    manifest = json.loads((pg_build.target_path / "manifest.json").read_text())
    nodes = {**manifest["nodes"], **manifest.get("unit_tests", {})}
    results = json.loads((pg_build.target_path / "run_results.json").read_text())["results"]
    statuses = {
        result["unique_id"]: result["status"]
        for result in results
        # exposures and saved queries are no-ops in a build
        if not result["unique_id"].startswith(("exposure.", "saved_query."))
    }

    def acceptable(unique_id: str, status: str) -> bool:
        # "warn" only where the test is configured to warn rather than fail.
        severity = str(nodes[unique_id]["config"].get("severity", "error")).lower()
        return status in ("success", "pass") or (status == "warn" and severity == "warn")

    bad = {uid: status for uid, status in statuses.items() if not acceptable(uid, status)}
    assert not bad, f"nodes that did not succeed on PostgreSQL: {bad}"

    expected = {
        uid
        for uid, node in nodes.items()
        if node["resource_type"] in ("model", "test", "seed", "snapshot", "unit_test")
        and node["package_name"] == "olist_elt"
        and node["config"].get("enabled", True)
    }
    missing = expected - set(statuses)
    assert not missing, f"nodes dbt build did not run: {sorted(missing)}"
    kinds: dict[str, int] = {}
    for uid in statuses:
        kinds[uid.split(".")[0]] = kinds.get(uid.split(".")[0], 0) + 1
    assert kinds.get("model", 0) > 0 and kinds.get("test", 0) > 0, kinds
    log.info("postgres build: %s", kinds)


# --- cross-engine fingerprints ------------------------------------------------------------


def _type_class(data_type: str) -> str:
    """Engine-neutral class of an information_schema data type."""
    name = data_type.lower()
    if name.startswith(("numeric", "decimal")):
        return "exact"
    if "int" in name:
        return "integer"
    if name.startswith(("double", "float", "real")):
        return "float"
    if name.startswith("bool"):
        return "boolean"
    if name.startswith(("timestamp", "date", "time")):
        return "temporal"
    return "text"


def _is_load_time(column: str) -> bool:
    """Lineage columns and those carried from them (`_source_loaded_at`...): they hold
    when and by which run rows were loaded, which differ between the two builds."""
    markers = {name.strip("_") for name in LINEAGE_COLUMNS} - {"ingest_date"}
    return any(marker in column for marker in markers)


def _aggregates(column: str, type_class: str) -> list[tuple[str, str]]:
    quoted = f'"{column}"'
    if type_class in ("exact", "integer", "float"):
        return [(f"sum({column})", f"sum({quoted})")]
    if type_class == "boolean":
        return [(f"count_true({column})", f"count(case when {quoted} then 1 end)")]
    if type_class == "temporal":
        return [
            (f"min({column})", f"cast(min({quoted}) as varchar)"),
            (f"max({column})", f"cast(max({quoted}) as varchar)"),
            (f"count({column})", f"count({quoted})"),
        ]
    return [
        (f"count({column})", f"count({quoted})"),
        (f"count_distinct({column})", f"count(distinct {quoted})"),
    ]


@dataclass(frozen=True)
class Figure:
    value: Any
    type_class: str


def fingerprint(
    query: Query, relations: Sequence[tuple[str, str]]
) -> dict[tuple[str, str], Figure]:
    """(relation, figure name) -> value for every relation, one query per relation."""
    figures: dict[tuple[str, str], Figure] = {}
    for schema, name in relations:
        columns = query(
            "select column_name, data_type from information_schema.columns "
            f"where table_schema = '{schema}' and table_name = '{name}' "
            "order by ordinal_position"
        )
        assert columns, f"{schema}.{name}: no columns found (relation missing?)"
        labels: list[tuple[str, str]] = [("row_count", "integer")]
        expressions = ["count(*)"]
        for column, data_type in columns:
            type_class = _type_class(data_type)
            figures[(name, f"type({column})")] = Figure(type_class, "text")
            aggregates = _aggregates(column, type_class)
            if _is_load_time(column):  # when and by which run the rows were loaded
                aggregates = [(f"count({column})", f'count("{column}")')]
            for label, expression in aggregates:
                labels.append((label, type_class))
                expressions.append(expression)
        (row,) = query(f'select {", ".join(expressions)} from "{schema}"."{name}"')
        for (label, type_class), value in zip(labels, row, strict=True):
            figures[(name, label)] = Figure(value, type_class)
    return figures


def _same(left: Figure, right: Figure) -> bool:
    if left.value is None or right.value is None:
        return left.value is None and right.value is None
    if left.type_class == "float":
        a, b = float(left.value), float(right.value)
        return math.isclose(a, b, rel_tol=FLOAT_TOLERANCE, abs_tol=FLOAT_TOLERANCE)
    if left.type_class in ("exact", "integer"):
        return Decimal(str(left.value)) == Decimal(str(right.value))
    return str(left.value) == str(right.value)


def _model_relations(target_path: Path) -> list[tuple[str, str]]:
    manifest = json.loads((target_path / "manifest.json").read_text())
    return sorted(
        (node["schema"], node["alias"])
        for node in manifest["nodes"].values()
        if node["resource_type"] in ("model", "snapshot", "seed")
        and node["package_name"] == "olist_elt"
        and node["config"]["materialized"] != "ephemeral"
    )


@pytest.fixture(scope="module")
def duckdb_query(real_duckdb_build: Path) -> Iterator[Query]:
    connection = duckdb.connect(str(real_duckdb_build), read_only=True)

    def query(sql: str) -> list[tuple[Any, ...]]:
        return connection.execute(sql).fetchall()

    try:
        yield query
    finally:
        connection.close()


def test_every_model_has_the_same_figures_on_duckdb_and_postgres(
    pg_build: PgBuild, duckdb_query: Query
) -> None:
    relations = _model_relations(pg_build.target_path)
    assert relations
    clock = time.perf_counter()
    on_postgres = fingerprint(pg_build.query, relations)
    on_duckdb = fingerprint(duckdb_query, relations)
    differences = [
        f"{name} {label}: postgres {on_postgres[(name, label)].value!r} "
        f"!= duckdb {on_duckdb.get((name, label), Figure('<missing>', 'text')).value!r}"
        for (name, label) in sorted(on_postgres)
        if (name, label) not in on_duckdb
        or not _same(on_postgres[(name, label)], on_duckdb[(name, label)])
    ]
    only_duckdb = sorted(set(on_duckdb) - set(on_postgres))
    assert not only_duckdb, f"figures only DuckDB has: {only_duckdb}"
    assert not differences, f"{len(differences)} figures differ:\n" + "\n".join(differences)
    log.info(
        "cross-engine: %d figures of %d relations equal in %.1fs",
        len(on_postgres),
        len(relations),
        time.perf_counter() - clock,
    )


KEY_FIGURES = {
    "order items": 'select count(*) from "analytics_marts"."fct_order_items"',
    "item price total": 'select sum(price_brl) from "analytics_marts"."fct_order_items"',
    "freight total": 'select sum(freight_value_brl) from "analytics_marts"."fct_order_items"',
    "payments total": 'select sum(payment_value_brl) from "analytics_marts"."fct_orders"',
    "late deliveries": (
        'select count(*) from "analytics_marts"."fct_orders" where is_delivered_late'
    ),
}
STATE_REVENUE = (
    'select customer_state, sum(revenue_brl) from "analytics_marts"."monthly_revenue_by_state" '
    "group by customer_state order by customer_state"
)


def test_key_figures_agree_exactly(pg_build: PgBuild, duckdb_query: Query) -> None:
    """The headline numbers, named, and revenue per state: money compares exactly."""
    for label, sql in KEY_FIGURES.items():
        (postgres_value,) = pg_build.query(sql)[0]
        (duckdb_value,) = duckdb_query(sql)[0]
        assert postgres_value is not None, f"{label}: null on PostgreSQL"
        assert Decimal(str(postgres_value)) == Decimal(str(duckdb_value)), (
            f"{label}: postgres {postgres_value} != duckdb {duckdb_value}"
        )
        log.info("%s: %s on both engines", label, postgres_value)
    postgres_states = {state: Decimal(str(v)) for state, v in pg_build.query(STATE_REVENUE)}
    duckdb_states = {state: Decimal(str(v)) for state, v in duckdb_query(STATE_REVENUE)}
    assert len(postgres_states) > 20, postgres_states  # Brazil has 27 federative units
    assert postgres_states == duckdb_states
