"""Figures the built models compute from the consistent real Olist set.

The expected values are measured on the real files (../shared/olist/README.md): the complete
customers, products, sellers and translation files, and the sample of orders with exactly
their payments and items. A model that drops, duplicates or mis-joins rows moves them.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

pytestmark = pytest.mark.slow


@dataclass(frozen=True)
class Figure:
    name: str
    query: str  # {table_name} placeholders are replaced by the table's qualified name
    expected: int | Decimal | tuple[str, ...]


FIGURES: tuple[Figure, ...] = (
    # customers: one customer_id per order, one customer_unique_id per person
    Figure("customer ids", "select count(*) from {stg_olist__customers}", 99_441),
    Figure(
        "customer ids counted on persons",
        "select sum(count_customer_ids) from {dim_customers}",
        99_441,
    ),
    Figure("unique customers", "select count(*) from {dim_customers}", 96_096),
    Figure(
        "unique customer ids",
        "select count(distinct customer_unique_id) from {dim_customers}",
        96_096,
    ),
    Figure("customers in the single customer view", "select count(*) from {customer_360}", 96_096),
    # products and categories
    Figure("products", "select count(*) from {dim_products}", 32_951),
    Figure(
        "products without category",
        "select count(*) from {dim_products} where not has_category",
        610,
    ),
    Figure(
        "products labelled unknown",
        "select count(*) from {dim_products} where category_name_english = 'unknown'",
        610,
    ),
    Figure(
        "categories",
        "select count(distinct category_name) from {dim_products} where has_category",
        73,
    ),
    Figure(
        "untranslated categories",
        "select distinct category_name from {dim_products}"
        " where has_category and not is_category_translated order by category_name",
        ("pc_gamer", "portateis_cozinha_e_preparadores_de_alimentos"),
    ),
    # sellers
    Figure("sellers", "select count(*) from {dim_sellers}", 3_095),
    # orders, items and payments of the sample
    Figure("orders", "select count(*) from {fct_orders}", 8_135),
    Figure("order items", "select count(*) from {fct_order_items}", 8_365),
    Figure(
        "payments of the orders",
        "select sum(payment_value_brl) from {fct_orders}",
        Decimal("1428602.81"),
    ),
    Figure(
        "payments in the payment mix",
        "select sum(payment_value_brl) from {payment_mix_by_type}",
        Decimal("1428602.81"),
    ),
    Figure(
        "payments allocated to items or left on item-less orders",
        "select sum(allocated_payment_brl) + sum(unallocated_payment_brl) from {fct_orders}",
        Decimal("1428602.81"),
    ),
    Figure("item prices", "select sum(price_brl) from {fct_order_items}", Decimal("1093264.35")),
    Figure(
        "item freight", "select sum(freight_value_brl) from {fct_order_items}", Decimal("172288.39")
    ),
)


def _qualified_tables(connection: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """Table or view name -> schema.name, found in the catalog rather than assumed."""
    rows = connection.execute(
        "select table_schema, table_name from information_schema.tables"
        " where table_schema not in ('information_schema', 'pg_catalog')"
    ).fetchall()
    found: dict[str, list[str]] = {}
    for schema, name in rows:
        found.setdefault(name, []).append(f'"{schema}"."{name}"')
    duplicated = {name: places for name, places in found.items() if len(places) > 1}
    assert not duplicated, f"relations built in more than one schema: {duplicated}"
    return {name: places[0] for name, places in found.items()}


@pytest.fixture(scope="module")
def built(real_duckdb_build: Path):
    connection = duckdb.connect(str(real_duckdb_build), read_only=True)
    try:
        yield connection, _qualified_tables(connection)
    finally:
        connection.close()


@pytest.mark.parametrize("figure", FIGURES, ids=[figure.name for figure in FIGURES])
def test_real_figure(
    built: tuple[duckdb.DuckDBPyConnection, dict[str, str]], figure: Figure
) -> None:
    connection, tables = built
    query = figure.query.format_map(_MissingTable(tables, figure.name))
    rows = connection.execute(query).fetchall()
    if isinstance(figure.expected, tuple):
        actual: object = tuple(row[0] for row in rows)
    else:
        assert len(rows) == 1, f"{figure.name}: expected one row from {query}, got {len(rows)}"
        actual = rows[0][0]
    assert actual == figure.expected, (
        f"{figure.name}: expected {figure.expected!r}, got {actual!r} from: {query}"
    )


class _MissingTable(dict[str, str]):
    """Format mapping that names the figure and the table when a model was not built."""

    def __init__(self, tables: dict[str, str], figure: str) -> None:
        super().__init__(tables)
        self.figure = figure

    def __missing__(self, key: str) -> str:
        raise AssertionError(f"{self.figure}: model {key} not found in the built database")
