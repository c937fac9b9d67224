"""What olist daily builds and tests after a drop: daily_selection on the project's manifest.

The project is parsed once (DuckDB profile, nothing is run); `missing` stands in for the
warehouse's catalogue, so each case says which relations exist.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from dbt_cli import write_profiles
from olist_elt.daily.run import DbtSession, daily_selection
from olist_elt.settings import Settings

ORDER_TABLES = ["orders", "customers", "order_items", "order_payments", "order_reviews"]


@pytest.fixture(scope="module")
def manifest(tmp_path_factory: pytest.TempPathFactory) -> Any:
    work = tmp_path_factory.mktemp("daily_selection")
    profiles = write_profiles(work / "profiles", work / "unused.duckdb")
    session = DbtSession(
        Settings.resolve({"profiles_dir": str(profiles)}),
        target_path=str(work / "target"),
        log_path=str(work / "logs"),
    )
    return session.manifest


def nothing_missing(relations: Sequence[tuple[str, str]]) -> set[tuple[str, str]]:
    return set()


def kind(manifest: Any, name: str) -> str:
    node = next(n for n in manifest.nodes.values() if n.name == name)
    metadata = getattr(node, "test_metadata", None)
    return metadata.name if metadata else "singular"


def test_a_day_of_orders_builds_the_tables_it_changes(manifest: Any) -> None:
    selected = set(daily_selection(manifest, ORDER_TABLES, nothing_missing, tests="none"))
    expected = {
        "stg_olist__orders",
        "stg_olist__customers",
        "stg_olist__order_items",
        "int_order_payments_allocated_to_items",
        "int_order_source_rows_aggregated_to_orders",
        "customers_snapshot",
        "int_customer_addresses_collapsed_to_periods",
        "dim_customers_history",
        "dim_customers",
        "fct_orders",
        "fct_order_items",
        "monthly_revenue_by_state",
        "customer_360",
    }
    assert expected <= selected, sorted(expected - selected)
    # views, the seed and the calendar change only with the project; products did not change
    left_alone = {
        "int_orders_enriched_with_durations",
        "int_order_reviews_deduplicated_to_orders",
        "brazilian_states",
        "dim_dates",
        "stg_olist__products",
        "dim_sellers",
    }
    assert not left_alone & selected, sorted(left_alone & selected)


def test_missing_relations_are_built_and_deploy_builds_every_view(manifest: Any) -> None:
    def calendar_missing(relations: Sequence[tuple[str, str]]) -> set[tuple[str, str]]:
        return {relation for relation in relations if relation[1] == "dim_dates"}

    selected = set(daily_selection(manifest, ["orders"], calendar_missing, tests="none"))
    assert "dim_dates" in selected
    assert "brazilian_states" not in selected
    deployed = set(daily_selection(manifest, ["orders"], nothing_missing, deploy=True))
    views = {
        node.name
        for node in manifest.nodes.values()
        if str(node.resource_type) == "model" and node.config.materialized == "view"
    }
    assert views and views <= deployed, sorted(views - deployed)
    assert {"dim_dates", "brazilian_states"} <= deployed


def test_daily_tests_are_keys_and_relationships_of_incremental_tables(manifest: Any) -> None:
    everything = set(daily_selection(manifest, ORDER_TABLES, nothing_missing, tests="all"))
    daily = set(daily_selection(manifest, ORDER_TABLES, nothing_missing))
    models = set(daily_selection(manifest, ORDER_TABLES, nothing_missing, tests="none"))
    daily_tests, all_tests = daily - models, everything - models
    assert daily_tests < all_tests
    assert {
        "unique_fct_orders_order_id",
        "unique_stg_olist__orders_order_id",
        "valid_intervals_are_contiguous_dim_customers_history_customer_unique_id",
        "assert_one_current_address_per_customer",
    } <= daily_tests, sorted(daily_tests)
    kinds = {kind(manifest, name) for name in daily_tests}
    assert "accepted_range" not in kinds and "relationships" in kinds, kinds
    # a mart rebuilt whole keeps its tests for the full build
    assert not any("monthly_revenue_by_state" in name for name in daily_tests)
    assert any("monthly_revenue_by_state" in name for name in all_tests)


def test_on_postgres_views_over_replaced_tables_are_rebuilt(
    manifest: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    def selection(full_refresh: bool) -> set[str]:
        return set(
            daily_selection(
                manifest, ["customers"], nothing_missing, tests="none", full_refresh=full_refresh
            )
        )

    on_duckdb = selection(full_refresh=True)
    monkeypatch.setattr(manifest.metadata, "adapter_type", "postgres")
    daily, full_refresh = selection(full_refresh=False), selection(full_refresh=True)
    # int_customer_addresses_filtered_to_latest reads the address periods, an incremental
    # table: a daily run updates it in place and the view stays, while --full-refresh
    # replaces it, and dbt's `drop ... cascade` of the old table takes the view with it
    assert "int_customer_addresses_filtered_to_latest" in full_refresh - on_duckdb
    assert "int_customer_addresses_filtered_to_latest" not in daily
    added = (daily | full_refresh) - on_duckdb
    assert all(
        next(n for n in manifest.nodes.values() if n.name == name).config.materialized == "view"
        for name in added
    ), sorted(added)
