"""The diff's SQL is Redshift SQL too: every statement diff.py generates parses in sqlglot's
Redshift dialect and passes the project's Redshift portability screen (redshift_compile.py),
as the models do. No cluster is needed; what this cannot prove is said there.
"""

from __future__ import annotations

import pytest
import sqlglot

from olist_elt.review import diff as d
from redshift_compile import redshift_portability_problems

BASE = d.relation_sql("analytics_marts", "fct_order_items")
CURRENT = d.relation_sql("review_marts", "fct_order_items")
KEY = ["order_id", "order_item_id"]
WHERE = d.differs('b."price_brl"', 'c."price_brl"')

STATEMENTS = {
    "columns": d.columns_sql("analytics_marts", "fct_order_items"),
    "by key": d.key_compare_sql(BASE, CURRENT, KEY, ["price_brl", "status"], {"status"}),
    "changed examples": d.key_examples_sql(BASE, CURRENT, KEY, WHERE),
    "added examples": d.key_examples_sql(BASE, CURRENT, KEY, 'b."order_id" is null', "added"),
    "removed examples": d.key_examples_sql(BASE, CURRENT, KEY, 'c."order_id" is null', "removed"),
    "largest": d.largest_differences_sql(BASE, CURRENT, KEY, "price_brl"),
    "multiset": d.multiset_compare_sql(BASE, CURRENT, ["order_id", "price_brl"], {"price_brl"}),
    "totals": d.totals_sql(BASE, ["price_brl", "freight_value_brl"]),
}


@pytest.mark.parametrize("name", sorted(STATEMENTS))
def test_statement_is_redshift_sql(name: str) -> None:
    sql = STATEMENTS[name]
    statements = sqlglot.parse(sql, read="redshift")
    assert len(statements) == 1
    assert redshift_portability_problems(sql, statements) == []


def test_the_screen_catches_what_redshift_lacks() -> None:
    # The comparison must not be written with IS DISTINCT FROM or GROUP BY ALL.
    assert "distinct from" not in STATEMENTS["by key"].lower()
    bad = "select count(*) from t group by all"
    assert redshift_portability_problems(bad, sqlglot.parse(bad, read="redshift"))


def test_differs_is_null_safe() -> None:
    import duckdb

    rows = duckdb.sql(
        "select " + d.differs("a", "b") + " from (values (1, 1), (1, 2), (null, 1), "
        "(1, null), (null, null)) as v(a, b)"
    ).fetchall()
    assert [bool(r[0]) for r in rows] == [False, True, True, True, False]


def test_floats_differ_beyond_the_noise_of_a_parallel_sum() -> None:
    import duckdb

    pairs = (
        "(0.1::double + 0.2::double, 0.3::double), (1e6, 1e6 + 1e-7), (1e0, 1.001e0), "
        "(0e0, 1e-12), (null, 0.5e0)"
    )
    sql = f"select {d.differs('a', 'b', approximate=True)} from (values {pairs}) as v(a, b)"
    flags = [bool(r[0]) for r in duckdb.sql(sql).fetchall()]
    assert flags == [False, False, True, True, True]
    exact = duckdb.sql(f"select {d.differs('a', 'b')} from (values {pairs}) as v(a, b)")
    assert [bool(r[0]) for r in exact.fetchall()][:2] == [True, True]
