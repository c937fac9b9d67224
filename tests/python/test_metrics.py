"""The semantic layer cannot drift from the marts, nor from the source files.

On the consistent real set, built on DuckDB and on PostgreSQL:
- every saved query returns the rows of the mart its dashboard reads (same grain, money to
  the cent, counts exactly, ratios to 1e-9);
- a headline figure of every metric equals one computed here from the nine CSV files with
  plain Python, independently of dbt and MetricFlow.
All MetricFlow queries of an engine run in one child process (metricflow_queries.py).
"""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from dbt_cli import PROJECT_ROOT, copy_project, run_dbt
from olist_elt.dashboards.pages import overview_months, overview_query
from olist_elt.load.loader import load

pytestmark = pytest.mark.slow

QUERY_SCRIPT = Path(__file__).with_name("metricflow_queries.py")
CENT = 0.005
RATIO = 1e-9
REVENUE_EXCLUDED = {"canceled", "unavailable"}

# Saved query -> (mart, {saved-query column: mart column}, key columns of the saved query,
# the kind of each compared value). Keys come first in both column maps.
MONEY, COUNT, RATIO_KIND = "money", "count", "ratio"
SAVED_QUERIES: dict[str, tuple[str, dict[str, str], int, dict[str, str]]] = {
    "monthly_revenue_by_category": (
        "monthly_revenue_by_category",
        {
            "metric_time__month": "order_month",
            "product__category_name_english": "product_category",
            "gmv": "revenue_brl",
            "freight": "freight_value_brl",
            "items": "count_order_items",
            "item_orders": "count_orders",
        },
        2,
        {"gmv": MONEY, "freight": MONEY, "items": COUNT, "item_orders": COUNT},
    ),
    "monthly_revenue_by_state": (
        "monthly_revenue_by_state",
        {
            "metric_time__month": "order_month",
            "customer__state": "customer_state",
            "orders": "count_orders",
            "active_customers": "count_customers",
            "gmv": "revenue_brl",
            "freight": "freight_value_brl",
            "revenue_order_payments": "payment_value_brl",
            "average_order_value": "average_order_value_brl",
        },
        2,
        {
            "orders": COUNT,
            "active_customers": COUNT,
            "gmv": MONEY,
            "freight": MONEY,
            "revenue_order_payments": MONEY,
            "average_order_value": RATIO_KIND,
        },
    ),
    "payment_mix": (
        "payment_mix_by_type",
        {
            "metric_time__month": "order_month",
            "order__primary_payment_type": "payment_type",
            "order__installments_bucket": "installments_bucket",
            "paid_orders": "count_orders",
            "payments": "payment_value_brl",
        },
        3,
        {"paid_orders": COUNT, "payments": MONEY},
    ),
    "seller_scorecard": (
        "seller_performance",
        {
            "seller": "seller_id",
            "seller__state": "seller_state",
            "gmv": "revenue_brl",
            "freight": "freight_value_brl",
        },
        2,
        {"gmv": MONEY, "freight": MONEY},
    ),
    "delivery_performance": (
        "delivery_performance_by_state",
        {
            "customer__state": "customer_state",
            "delivered_orders": "count_delivered_orders",
            "late_deliveries": "count_late_orders",
            "late_delivery_share": "late_delivery_rate",
            "average_days_to_deliver": "average_days_to_deliver",
        },
        1,
        {
            "delivered_orders": COUNT,
            "late_deliveries": COUNT,
            "late_delivery_share": RATIO_KIND,
            "average_days_to_deliver": RATIO_KIND,
        },
    ),
    "customer_segments": (
        "(select customer_segment, count(*) as count_customers,"
        " sum(lifetime_value_brl) as lifetime_value_brl from {schema}.customer_360"
        " group by customer_segment) as segments",
        {
            "customer__customer_segment": "customer_segment",
            "customers": "count_customers",
            "revenue_order_payments": "lifetime_value_brl",
        },
        1,
        {"customers": COUNT, "revenue_order_payments": MONEY},
    ),
}

HEADLINE_METRICS = (
    "gmv",
    "freight",
    "items",
    "orders",
    "paid_orders",
    "payments",
    "revenue_order_payments",
    "average_order_value",
    "items_per_order",
    "delivered_orders",
    "late_deliveries",
    "late_delivery_share",
    "average_days_to_deliver",
    "average_review_score",
    "reviewed_orders",
    "low_reviews",
    "low_review_share",
    "active_customers",
    "customers",
    "customers_with_orders",
    "repeat_customers",
    "repeat_customer_share",
)


# --- figures from the CSV files ------------------------------------------------------------


def _rows(folder: Path, name: str) -> Iterator[dict[str, str]]:
    with (folder / name).open(encoding="utf-8", newline="") as handle:
        yield from csv.DictReader(handle)


def _ts(text: str) -> datetime | None:
    return datetime.fromisoformat(text.strip()) if text.strip() else None


@dataclass(frozen=True)
class SourceFigures:
    headline: dict[str, float]
    gmv_by_month: dict[str, Decimal]


def source_figures(folder: Path) -> SourceFigures:
    """Every headline metric from the raw files, with the marts' documented rules."""
    person = {
        r["customer_id"]: r["customer_unique_id"]
        for r in _rows(folder, "olist_customers_dataset.csv")
    }
    orders = {r["order_id"]: r for r in _rows(folder, "olist_orders_dataset.csv")}
    revenue = {o for o, r in orders.items() if r["order_status"].strip() not in REVENUE_EXCLUDED}

    gmv = freight = Decimal(0)
    items = 0
    gmv_by_month: dict[str, Decimal] = defaultdict(Decimal)
    for item in _rows(folder, "olist_order_items_dataset.csv"):
        if item["order_id"] in revenue:
            price = Decimal(item["price"])
            gmv += price
            freight += Decimal(item["freight_value"])
            items += 1
            month = orders[item["order_id"]]["order_purchase_timestamp"][:7]
            gmv_by_month[month] += price

    paid: dict[str, Decimal] = defaultdict(Decimal)
    for payment in _rows(folder, "olist_order_payments_dataset.csv"):
        paid[payment["order_id"]] += Decimal(payment["payment_value"])

    delivered = late = 0
    days: list[float] = []
    for order in orders.values():
        purchased = _ts(order["order_purchase_timestamp"])
        delivered_at = _ts(order["order_delivered_customer_date"])
        estimated = _ts(order["order_estimated_delivery_date"])
        if delivered_at is not None:
            days.append((delivered_at - purchased).total_seconds() / 86400)
            if estimated is not None:
                delivered += 1
                late += delivered_at.date() > estimated.date()

    # The review kept per order: latest answered, then latest created, then highest id.
    kept: dict[str, tuple[Any, ...]] = {}
    for review in _rows(folder, "olist_order_reviews_dataset.csv"):
        if review["order_id"] not in orders:
            continue
        answered = _ts(review["review_answer_timestamp"])
        created = _ts(review["review_creation_date"])
        rank = (
            answered is not None,
            answered or datetime.min,
            created or datetime.min,
            review["review_id"],
        )
        if review["order_id"] not in kept or rank > kept[review["order_id"]][0]:
            score = int(review["review_score"]) if review["review_score"].strip() else None
            kept[review["order_id"]] = (rank, score)
    scores = [score for _, score in kept.values() if score is not None]

    orders_per_person: dict[str, int] = defaultdict(int)
    for order in orders.values():
        orders_per_person[person[order["customer_id"]]] += 1
    persons = set(person.values())
    count_revenue = len(revenue)
    revenue_paid = sum((paid[o] for o in revenue), Decimal(0))
    with_orders = len(orders_per_person)
    repeat = sum(1 for n in orders_per_person.values() if n > 1)
    headline = {
        "gmv": float(gmv),
        "freight": float(freight),
        "items": items,
        "orders": count_revenue,
        "paid_orders": len(paid),
        "payments": float(sum(paid.values(), Decimal(0))),
        "revenue_order_payments": float(revenue_paid),
        "average_order_value": float(revenue_paid) / count_revenue,
        "items_per_order": items / count_revenue,
        "delivered_orders": delivered,
        "late_deliveries": late,
        "late_delivery_share": late / delivered,
        "average_days_to_deliver": sum(days) / len(days),
        "average_review_score": sum(scores) / len(scores),
        "reviewed_orders": len(scores),
        "low_reviews": sum(1 for s in scores if s <= 2),
        "low_review_share": sum(1 for s in scores if s <= 2) / len(scores),
        "active_customers": len({person[orders[o]["customer_id"]] for o in revenue}),
        "customers": len(persons),
        "customers_with_orders": with_orders,
        "repeat_customers": repeat,
        "repeat_customer_share": repeat / with_orders,
    }
    return SourceFigures(headline, dict(gmv_by_month))


# --- the warehouse on each engine and the MetricFlow results -------------------------------


@dataclass
class Semantic:
    engine: str
    results: dict[str, dict[str, Any]]
    query: Callable[[str], list[dict[str, Any]]]
    marts: str  # schema of the marts

    def frame(self, name: str) -> list[dict[str, Any]]:
        result = self.results[name]
        return [dict(zip(result["columns"], row, strict=True)) for row in result["rows"]]


@pytest.fixture(scope="module")
def figures(real_olist_dir: Path) -> SourceFigures:
    return source_figures(real_olist_dir)


def _requests(figures: SourceFigures) -> dict[str, dict[str, Any]]:
    last_month = max(figures.gmv_by_month)
    requests: dict[str, dict[str, Any]] = {name: {"saved_query": name} for name in SAVED_QUERIES}
    requests["monthly_overview"] = {"saved_query": "monthly_overview"}
    requests["headline"] = {"metrics": list(HEADLINE_METRICS), "group_by": []}
    # The calendar runs to 2020: stop the running total at the last month with orders.
    requests["cumulative"] = {
        "metrics": ["gmv", "cumulative_gmv"],
        "group_by": ["metric_time__month"],
        "end_time": f"{last_month}-01",
    }
    return requests


def _run_metricflow(
    work: Path, profiles_dir: Path, env: dict[str, str], requests: dict[str, Any]
) -> dict[str, Any]:
    project = copy_project(work / "project")
    run_dbt("parse", project_dir=project, profiles_dir=profiles_dir, env=env).check()
    (work / "requests.json").write_text(json.dumps(requests), encoding="utf-8")
    completed = subprocess.run(
        [
            sys.executable,
            str(QUERY_SCRIPT),
            str(project),
            str(work / "requests.json"),
            str(work / "results.json"),
        ],
        cwd=project,
        env={**_base_env(), **env, "DBT_PROFILES_DIR": str(profiles_dir)},
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert completed.returncode == 0, f"MetricFlow queries failed:\n{completed.stderr[-4000:]}"
    return json.loads((work / "results.json").read_text(encoding="utf-8"))


def _base_env() -> dict[str, str]:
    import os

    return {k: v for k, v in os.environ.items() if k != "DBT_PROFILES_DIR"}


def _profiles(work: Path) -> Path:
    folder = work / "profiles"
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(PROJECT_ROOT / "profiles.yml.example", folder / "profiles.yml")
    return folder


@pytest.fixture(scope="module", params=["duckdb", "postgres"])
def semantic(
    request: pytest.FixtureRequest,
    figures: SourceFigures,
    real_olist_dir: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Semantic]:
    work = tmp_path_factory.mktemp(f"metrics_{request.param}")
    profiles = _profiles(work)
    if request.param == "duckdb":
        import duckdb

        database = request.getfixturevalue("real_duckdb_build")
        env = {"OLIST_DUCKDB_PATH": str(database), "OLIST_TARGET": "duckdb"}
        results = _run_metricflow(work, profiles, env, _requests(figures))
        connection = duckdb.connect(str(database), read_only=True)

        def query(sql: str) -> list[dict[str, Any]]:
            cursor = connection.execute(sql)
            names = [c[0] for c in cursor.description]
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

        try:
            yield Semantic("duckdb", results, query, "analytics_marts")
        finally:
            connection.close()
        return

    import psycopg2

    from olist_elt.dev import postgres as devserver
    from pg_server import admin

    server = request.getfixturevalue("pg_server")
    name = f"metrics_{uuid.uuid4().hex[:8]}"
    devserver.create_database(server, name)
    env = {**server.env(), "OLIST_PG_DATABASE": name, "OLIST_TARGET": "postgres"}
    try:
        with pytest.MonkeyPatch.context() as patch:
            for key, value in env.items():
                patch.setenv(key, value)
            report = load(str(real_olist_dir), target="postgres", profiles_dir=str(profiles))
        assert report.ok, report.summary()
        # Models and seeds only: the data tests are test_postgres_pipeline.py's business.
        run_dbt(
            "build",
            "--resource-type",
            "model",
            "--resource-type",
            "seed",
            project_dir=PROJECT_ROOT,
            profiles_dir=profiles,
            target_path=work / "target",
            env={**env, "DBT_LOG_PATH": str(work / "logs")},
            timeout=1200,
        ).check()
        results = _run_metricflow(work, profiles, env, _requests(figures))
        connection = psycopg2.connect(server.dsn(name))

        def pg_query(sql: str) -> list[dict[str, Any]]:
            with connection.cursor() as cursor:
                cursor.execute(sql)
                names = [c[0] for c in cursor.description]
                return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

        try:
            yield Semantic("postgres", results, pg_query, "analytics_marts")
        finally:
            connection.close()
    finally:
        admin(server, f'drop database if exists "{name}" with (force)')


# --- comparisons ---------------------------------------------------------------------------


def _key(value: Any) -> str:
    if isinstance(value, datetime | date):
        return value.isoformat()[:10]
    text = str(value)
    return text[:10] if len(text) >= 10 and text[4:5] == "-" and text[7:8] == "-" else text


def _close(kind: str, found: Any, expected: Any) -> bool:
    found = 0 if found is None else float(found)
    expected = 0 if expected is None else float(expected)
    if kind == MONEY:
        return abs(found - expected) < CENT
    if kind == COUNT:
        return found == expected
    return abs(found - expected) <= RATIO * max(1.0, abs(expected))


@pytest.mark.parametrize("saved_query", sorted(SAVED_QUERIES))
def test_saved_query_equals_its_mart(semantic: Semantic, saved_query: str) -> None:
    mart, columns, keys, kinds = SAVED_QUERIES[saved_query]
    names = list(columns)
    relation = mart.format(schema=semantic.marts) if " " in mart else f"{semantic.marts}.{mart}"
    mart_rows = semantic.query("select " + ", ".join(columns.values()) + f" from {relation}")
    expected = {tuple(_key(row[columns[n]]) for n in names[:keys]): row for row in mart_rows}
    found = {tuple(_key(row[n]) for n in names[:keys]): row for row in semantic.frame(saved_query)}
    assert found, f"{saved_query} returned no rows on {semantic.engine}"

    # A group the metrics' filters empty (a seller with only canceled orders, a state with no
    # delivery yet) is a mart row of zeros and no row, or a row of nulls, in MetricFlow.
    def empty(row: dict[str, Any], mapping: dict[str, str]) -> bool:
        return all(not row[mapping[m]] for m in kinds)

    identity = {m: m for m in kinds}
    missing = [k for k in expected.keys() - found.keys() if not empty(expected[k], columns)]
    extra = [k for k in found.keys() - expected.keys() if not empty(found[k], identity)]
    assert not missing and not extra, (
        f"{saved_query} vs {mart} on {semantic.engine}: groups only in the mart {missing[:5]}, "
        f"only in MetricFlow {extra[:5]}"
    )
    wrong = [
        (key, metric, found[key][metric], expected[key][columns[metric]])
        for key in found.keys() & expected.keys()
        for metric, kind in kinds.items()
        if not _close(kind, found[key][metric], expected[key][columns[metric]])
    ]
    assert not wrong, (
        f"{saved_query} vs {mart} on {semantic.engine}: {len(wrong)} values differ,"
        f" e.g. {wrong[:5]}"
    )


@pytest.mark.parametrize("metric", HEADLINE_METRICS)
def test_headline_metric_equals_the_source_files(
    semantic: Semantic, figures: SourceFigures, metric: str
) -> None:
    (row,) = semantic.frame("headline")
    expected = figures.headline[metric]
    kind = (
        MONEY
        if isinstance(expected, float)
        and metric in {"gmv", "freight", "payments", "revenue_order_payments"}
        else COUNT
        if isinstance(expected, int)
        else RATIO_KIND
    )
    assert _close(kind, row[metric], expected), (
        f"{metric} on {semantic.engine}: MetricFlow {row[metric]}, source files {expected}"
    )


def test_monthly_overview_equals_the_dashboard_query_and_the_source_files(
    semantic: Semantic, figures: SourceFigures
) -> None:
    """The overview page's own query, MetricFlow and the CSV files agree month by month."""
    rel = lambda table: f"{semantic.marts}.{table}"  # noqa: E731
    page = {m["month"]: m for m in overview_months(semantic.query(overview_query(rel)))}
    metric_rows = {_key(r["metric_time__month"])[:7]: r for r in semantic.frame("monthly_overview")}
    months = sorted(figures.gmv_by_month)
    for month in months:
        found, shown = metric_rows[month], page[month]
        assert abs(found["gmv"] - float(figures.gmv_by_month[month])) < CENT, month
        assert abs(shown["gmv"] - float(figures.gmv_by_month[month])) < CENT, month
        for metric, key in (
            ("orders", "orders"),
            ("average_order_value", "aov"),
            ("late_delivery_share", "late_share"),
            ("average_review_score", "review"),
        ):
            assert _close(RATIO_KIND, found[metric], shown[key]), (month, metric)
    for month in months:
        year, number = int(month[:4]), int(month[5:7])
        before = f"{year - (number == 1)}-{(number - 2) % 12 + 1:02d}"
        if before not in figures.gmv_by_month:
            assert metric_rows[month]["revenue_growth_mom"] is None, month
            continue
        growth = float(figures.gmv_by_month[month] / figures.gmv_by_month[before]) - 1
        assert _close(RATIO_KIND, metric_rows[month]["revenue_growth_mom"], growth), month


def test_cumulative_gmv_is_the_running_total(semantic: Semantic, figures: SourceFigures) -> None:
    rows = {_key(r["metric_time__month"])[:7]: r for r in semantic.frame("cumulative")}
    running = Decimal(0)
    for month in sorted(figures.gmv_by_month):
        running += figures.gmv_by_month[month]
        assert abs(rows[month]["cumulative_gmv"] - float(running)) < CENT, month
    assert abs(running - Decimal(str(figures.headline["gmv"]))) < Decimal(CENT)


def test_saved_queries_render_for_redshift(tmp_path: Path) -> None:
    """MetricFlow's Redshift SQL of every saved query parses as Redshift (no cluster here)."""
    import sqlglot

    from dbt_cli import write_profiles

    project = copy_project(tmp_path / "project")
    profiles = write_profiles(tmp_path / "profiles", tmp_path / "unused.duckdb")
    run_dbt("parse", project_dir=project, profiles_dir=profiles).check()
    completed = subprocess.run(
        [
            sys.executable,
            str(QUERY_SCRIPT),
            "--redshift-sql",
            str(project),
            str(tmp_path / "redshift.json"),
        ],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    rendered = json.loads((tmp_path / "redshift.json").read_text(encoding="utf-8"))
    assert set(rendered) == {*SAVED_QUERIES, "monthly_overview"}
    for name, sql in rendered.items():
        assert sqlglot.parse_one(sql, read="redshift").find(sqlglot.exp.Select), name
