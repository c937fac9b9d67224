"""Which watermarks a daily build passes to dbt (olist_elt.daily.run._watermarks).

The var daily_watermarks restricts the day's tests and the customers snapshot to the rows
loaded since each table's watermark (macros/daily_tests.sql). A table must be left out, and
so read whole, when it is not in the build, has no lineage column in the project, is absent,
is empty, or lacks the column in the warehouse (a project change whose deploy has not run):
a query on a missing column would fail the day's run. Checked on a DuckDB database in memory
with stand-ins for the manifest's nodes.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import duckdb

from olist_elt.daily.run import _watermarks


def node(name: str, materialized: str, columns: tuple[str, ...]) -> Any:
    return SimpleNamespace(
        name=name,
        schema="analytics",
        alias=name,
        config=SimpleNamespace(materialized=materialized),
        columns={column: None for column in columns},
    )


def test_watermarks_of_the_tables_that_can_be_read() -> None:
    connection = duckdb.connect()
    connection.execute("create schema analytics")
    connection.execute("create table analytics.staged (_loaded_at timestamp)")
    connection.execute(
        "insert into analytics.staged values ('2026-01-01 06:00:00'), ('2026-01-02 06:00:00')"
    )
    connection.execute("create table analytics.fact (_source_loaded_at timestamp)")
    connection.execute("insert into analytics.fact values ('2026-01-03 06:00:00')")
    connection.execute("create table analytics.empty_table (_loaded_at timestamp)")
    connection.execute("create table analytics.snap (customer_unique_id varchar)")  # no column yet
    nodes = [
        node("staged", "incremental", ("_loaded_at",)),
        node("fact", "incremental", ("_source_loaded_at", "_loaded_at")),
        node("empty_table", "incremental", ("_loaded_at",)),
        node("snap", "snapshot", ("_loaded_at",)),
        node("absent", "incremental", ("_loaded_at",)),
        node("no_lineage", "incremental", ("order_id",)),
        node("a_view", "view", ("_loaded_at",)),
        node("not_built", "incremental", ("_loaded_at",)),
    ]
    session = SimpleNamespace(manifest=SimpleNamespace(nodes={n.name: n for n in nodes}))
    built = [n.name for n in nodes if n.name != "not_built"]

    def query(sql: str) -> list[tuple[Any, ...]]:
        return connection.execute(sql).fetchall()

    # a table with both lineage columns is read by the first of LINEAGE_COLUMNS
    assert _watermarks(session, built, query) == {
        "staged": {"column": "_loaded_at", "loaded_at": "2026-01-02 06:00:00"},
        "fact": {"column": "_source_loaded_at", "loaded_at": "2026-01-03 06:00:00"},
    }
