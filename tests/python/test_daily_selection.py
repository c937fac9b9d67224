"""What olist daily builds and tests after a drop: daily_selection on the project's manifest.

The project is parsed once (DuckDB profile, nothing is run); `missing` stands in for the
warehouse's catalogue, so each case says which relations exist. daily_selection selects
with dbt (selectors.yml); `walked_selection` below is the walk over the manifest that it
replaced, kept as the reference the selection must match node for node.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
import yaml
from dbt.cli.main import dbtRunner

from dbt_cli import write_profiles
from olist_elt.daily.run import DbtSession, daily_selection
from olist_elt.errors import ConfigError
from olist_elt.settings import Settings
from olist_elt.spec import OLIST_FILES

pytestmark = pytest.mark.slow

ORDER_TABLES = ["orders", "customers", "order_items", "order_payments", "order_reviews"]


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> DbtSession:
    work = tmp_path_factory.mktemp("daily_selection")
    profiles = write_profiles(work / "profiles", work / "unused.duckdb")
    return DbtSession(
        Settings.resolve({"profiles_dir": str(profiles)}),
        target_path=str(work / "target"),
        log_path=str(work / "logs"),
    )


@pytest.fixture(scope="module")
def manifest(session: DbtSession) -> Any:
    return session.manifest


def nothing_missing(relations: Sequence[tuple[str, str]]) -> set[tuple[str, str]]:
    return set()


def kind(manifest: Any, name: str) -> str:
    node = next(n for n in manifest.nodes.values() if n.name == name)
    metadata = getattr(node, "test_metadata", None)
    return metadata.name if metadata else "singular"


def test_a_day_of_orders_builds_the_tables_it_changes(session: DbtSession) -> None:
    selected = set(daily_selection(session, ORDER_TABLES, nothing_missing, tests="none"))
    expected = {
        "stg_olist__orders",
        "stg_olist__customers",
        "stg_olist__order_items",
        "int_order_payments_allocated_to_items",
        "int_order_reviews_deduplicated_to_orders",
        "int_order_source_rows_aggregated_to_orders",
        "customers_snapshot",
        "int_customer_addresses_collapsed_to_periods",
        "dim_customers_history",
        "dim_customers",
        "fct_orders",
        "fct_order_items",
        "customer_360",
    }
    assert expected <= selected, sorted(expected - selected)
    # the business marts are views over the facts: a day never rebuilds them
    assert not selected & {"monthly_revenue_by_state", "seller_performance"}, sorted(selected)
    # views, the seed and the calendar change only with the project; products did not change
    left_alone = {
        "int_orders_enriched_with_durations",
        "brazilian_states",
        "dim_dates",
        "stg_olist__products",
        "dim_sellers",
    }
    assert not left_alone & selected, sorted(left_alone & selected)


def test_missing_relations_are_built_and_deploy_builds_every_view(
    session: DbtSession, manifest: Any
) -> None:
    def calendar_missing(relations: Sequence[tuple[str, str]]) -> set[tuple[str, str]]:
        return {relation for relation in relations if relation[1] == "dim_dates"}

    selected = set(daily_selection(session, ["orders"], calendar_missing, tests="none"))
    assert "dim_dates" in selected
    assert "brazilian_states" not in selected
    deployed = set(daily_selection(session, ["orders"], nothing_missing, deploy=True))
    views = {
        node.name
        for node in manifest.nodes.values()
        if str(node.resource_type) == "model" and node.config.materialized == "view"
    }
    assert views and views <= deployed, sorted(views - deployed)
    assert {"dim_dates", "brazilian_states"} <= deployed


def test_a_deploy_with_full_refresh_rebuilds_every_table_whatever_the_day(
    session: DbtSession,
) -> None:
    """The way out of a changed incremental schema, whichever raw tables the day touched."""
    options: dict[str, Any] = {"tests": "none", "deploy": True}
    deploy = set(daily_selection(session, ["sellers"], nothing_missing, **options))
    rebuild = set(
        daily_selection(session, ["sellers"], nothing_missing, full_refresh=True, **options)
    )
    untouched = {"stg_olist__orders", "fct_orders", "int_order_payments_summed_to_orders"}
    assert not untouched & deploy, sorted(untouched & deploy)
    assert untouched | deploy <= rebuild, sorted(untouched - rebuild)
    everything = set(daily_selection(session, [], nothing_missing, **options))
    assert everything <= deploy  # the day's tables or not: project objects either way
    assert "customers_snapshot" in rebuild  # dbt never rebuilds a snapshot: it stays as is


def test_daily_tests_are_keys_and_relationships_of_incremental_tables(
    session: DbtSession, manifest: Any
) -> None:
    everything = set(daily_selection(session, ORDER_TABLES, nothing_missing, tests="all"))
    daily = set(daily_selection(session, ORDER_TABLES, nothing_missing))
    models = set(daily_selection(session, ORDER_TABLES, nothing_missing, tests="none"))
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
    # the marts updated in place by person have their keys tested every day
    assert {
        "unique_dim_customers_customer_unique_id",
        "unique_customer_360_customer_unique_id",
    } <= daily_tests, sorted(daily_tests)
    # an incremental dimension has its key tested every day it is built
    with_products = set(daily_selection(session, ["products"], nothing_missing))
    assert {"dim_products", "unique_dim_products_product_id"} <= with_products
    # a table rebuilt whole keeps its tests for the full build
    with_sellers = set(daily_selection(session, ["sellers"], nothing_missing))
    everything = set(daily_selection(session, ["sellers"], nothing_missing, tests="all"))
    assert "dim_sellers" in with_sellers
    assert not any("dim_sellers" in name for name in with_sellers - {"dim_sellers"})
    assert any(name.startswith("unique_dim_sellers") for name in everything)


def test_on_postgres_views_over_replaced_tables_are_rebuilt(
    session: DbtSession, manifest: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    def selection(full_refresh: bool) -> set[str]:
        return set(
            daily_selection(
                session, ["customers"], nothing_missing, tests="none", full_refresh=full_refresh
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


# The selection before it went through dbt's selectors: kept only as the reference below.
WALKED_TEST_KINDS = frozenset(
    {
        "unique",
        "unique_combination_of_columns",
        "relationships",
        "equal_rowcount",
        "valid_intervals_are_contiguous",
    }
)


def walked_selection(
    manifest: Any,
    tables: Sequence[str],
    missing: Callable[[Sequence[tuple[str, str]]], set[tuple[str, str]]],
    *,
    deploy: bool = False,
    tests: str = "daily",
    full_refresh: bool = False,
) -> list[str]:
    nodes = manifest.nodes
    children: dict[str, set[str]] = {}
    for unique_id, node in nodes.items():
        for parent in getattr(node.depends_on, "nodes", ()):
            children.setdefault(parent, set()).add(unique_id)

    def descendants(roots: Sequence[str]) -> set[str]:
        stack, found = list(roots), set()
        while stack:
            for child in children.get(stack.pop(), ()):
                if child not in found:
                    found.add(child)
                    stack.append(child)
        return found

    project = next(iter(manifest.sources.values())).package_name
    changed = descendants([f"source.{project}.olist.{table}" for table in tables])
    fed_by_sources = descendants(list(manifest.sources))

    def materialization(unique_id: str) -> str:
        node = nodes[unique_id]
        return "seed" if str(node.resource_type) == "seed" else node.config.materialized

    buildable = {
        unique_id
        for unique_id, node in nodes.items()
        if str(node.resource_type) in ("model", "snapshot", "seed")
        and materialization(unique_id) != "ephemeral"
    }
    deployed = {
        unique_id
        for unique_id in buildable
        if materialization(unique_id) in ("view", "seed") or unique_id not in fed_by_sources
    }
    relation_of = {u: (nodes[u].schema.lower(), nodes[u].alias.lower()) for u in buildable}
    absent = missing(sorted(set(relation_of.values())))
    built = (changed & (buildable - deployed)) | {u for u in buildable if relation_of[u] in absent}
    if deploy:
        built |= deployed
        if full_refresh:
            built |= buildable - deployed
    if manifest.metadata.adapter_type == "postgres":
        replaced = ("table", "incremental") if full_refresh else ("table",)
        stack = [u for u in built if materialization(u) in replaced]
        while stack:
            for child in children.get(stack.pop(), ()):
                if child in buildable and materialization(child) == "view" and child not in built:
                    built.add(child)
                    stack.append(child)
    selected = set(built)
    if tests != "none":
        for unique_id, node in nodes.items():
            if str(node.resource_type) != "test":
                continue
            attached = getattr(node, "attached_node", None)
            owners = {attached} if attached else set(node.depends_on.nodes) & set(nodes)
            if not owners & built:
                continue
            metadata = getattr(node, "test_metadata", None)
            kind = metadata.name if metadata else None
            incremental = any(
                materialization(owner) in ("incremental", "snapshot") for owner in owners
            )
            tagged = "daily" in node.tags or any("daily" in nodes[o].tags for o in owners)
            if (
                tests == "all"
                or tagged
                or (kind in WALKED_TEST_KINDS and incremental and owners <= built)
            ):
                selected.add(unique_id)
    return sorted(nodes[unique_id].name for unique_id in selected)


TABLE_SETS = (
    [],
    ["orders"],
    ["customers"],
    ["products"],
    ["sellers"],
    ["geolocations"],
    ["product_category_translations"],
    ORDER_TABLES,
    [spec.table for spec in OLIST_FILES],
)


def some_missing(relations: Sequence[tuple[str, str]]) -> set[tuple[str, str]]:
    """A warehouse without the calendar, the seed, a view and an incremental staging table."""
    names = {"dim_dates", "brazilian_states", "int_orders_enriched_with_durations"}
    return {r for r in relations if r[1] in names | {"stg_olist__products"}}


def test_selection_through_dbt_equals_the_manifest_walk(
    session: DbtSession, manifest: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    cases = list(
        itertools.product(
            ("duckdb", "postgres"),
            TABLE_SETS,
            (nothing_missing, some_missing),
            (False, True),  # deploy
            ("daily", "all", "none"),
            (False, True),  # full_refresh
        )
    )
    distinct = set()
    for adapter, tables, missing, deploy, tests, full_refresh in cases:
        monkeypatch.setattr(manifest.metadata, "adapter_type", adapter)
        options = {"deploy": deploy, "tests": tests, "full_refresh": full_refresh}
        selected = daily_selection(session, tables, missing, **options)
        expected = walked_selection(manifest, tables, missing, **options)
        case = (adapter, tables, missing.__name__, options)
        assert selected == expected, (
            case,
            sorted(set(expected) - set(selected)),
            sorted(set(selected) - set(expected)),
        )
        distinct.add(tuple(selected))
    # the cases tell the options apart: a selection that ignored one would still differ here
    assert len(distinct) > len(cases) // 8, len(distinct)


def list_with_dbt(session: DbtSession, *chosen: str) -> frozenset[str]:
    args = ["ls", *session.common, "--log-level", "none", "--indirect-selection", "empty"]
    result = dbtRunner(manifest=session.manifest).invoke(
        [*args, "--output", "json", "--output-keys", "unique_id", *chosen]
    )
    assert result.success, result.exception
    return frozenset(json.loads(line)["unique_id"] for line in result.result)


def test_selections_are_what_dbt_ls_lists(session: DbtSession) -> None:
    """What an analyst gets with `dbt ls --selector NAME`, as daily_selection gets it."""
    path = Path(session.project_dir) / "selectors.yml"
    names = [selector["name"] for selector in yaml.safe_load(path.read_text())["selectors"]]
    assert {"daily_tables", "project_objects", "updated_in_place", "daily_test_kinds"} <= set(names)
    for name in names:
        assert session.select(selector=name) == list_with_dbt(session, "--selector", name), name
    day = ["source:olist.orders+", "source:olist.customers+"]
    assert session.select(select=day) == list_with_dbt(session, "--select", *day)


def test_daily_tables_and_project_objects_split_what_dbt_builds(
    session: DbtSession, manifest: Any
) -> None:
    daily, project = (
        session.select(selector="daily_tables"),
        session.select(selector="project_objects"),
    )
    buildable = {
        unique_id
        for unique_id, node in manifest.nodes.items()
        if str(node.resource_type) in ("model", "snapshot", "seed")
        and node.config.materialized != "ephemeral"
    }
    assert not daily & project, sorted(daily & project)
    assert daily | project == buildable, sorted(buildable ^ (daily | project))
    kinds = session.select(selector="daily_test_kinds")
    assert kinds and all(u.startswith("test.") for u in kinds)


def test_an_unknown_selector_is_a_clear_error(session: DbtSession) -> None:
    with pytest.raises(ConfigError, match="no selector named 'nightly_tables'"):
        session.select(selector="nightly_tables")
