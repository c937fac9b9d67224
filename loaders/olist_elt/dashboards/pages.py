"""What each dashboard page shows: its query on the marts and the charts and tables it draws.

One page per exposure of models/marts/_exposures.yml (same name) plus the overview. The SQL
is plain ANSI that DuckDB, PostgreSQL and Redshift all run (date_trunc, case, avg); each
query names its columns, and a page gets its rows as dicts keyed by them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import plotly.graph_objects as go

Row = dict[str, Any]
Relation = Callable[[str], str]

# The marts' revenue rule (macros/marts/is_revenue_order.sql), for the overview's own query.
REVENUE_ORDER = "order_status not in ('canceled', 'unavailable')"


@dataclass(frozen=True)
class Tile:
    """A headline figure: its value for the latest complete month and the month before."""

    key: str
    label: str
    value: float | None
    previous: float | None
    kind: str  # money, count, share, score


@dataclass(frozen=True)
class Content:
    """What a page renders: headline tiles, charts, tables, and a line of context."""

    tiles: tuple[Tile, ...] = ()
    charts: tuple[tuple[str, go.Figure], ...] = ()
    tables: tuple[tuple[str, list[str], list[list[str]]], ...] = ()
    note: str = ""


@dataclass(frozen=True)
class Page:
    slug: str
    title: str
    exposure: str | None  # the exposure in models/marts/_exposures.yml, None for the overview
    description: str
    query: Callable[[Relation], str]
    render: Callable[[list[Row]], Content]


def number(value: Any) -> float | None:
    """Decimal, int or float from any driver as a float (plotly and JSON take no Decimal)."""
    if value is None:
        return None
    return float(value) if isinstance(value, Decimal | int | float) else float(str(value))


def month_label(value: Any) -> str:
    if isinstance(value, datetime):
        value = value.date()
    if isinstance(value, date):
        return value.strftime("%Y-%m")
    return str(value)[:7]


def money(value: float | None) -> str:
    return "n/a" if value is None else f"R$ {value:,.2f}"


def _layout(figure: go.Figure, title: str, **extra: Any) -> go.Figure:
    settings: dict[str, Any] = {
        "title": title,
        "template": "plotly_white",
        "margin": {"l": 60, "r": 20, "t": 50, "b": 60},
        "height": 420,
        "legend": {"orientation": "h", "y": -0.2},
    }
    figure.update_layout(**{**settings, **extra})
    return figure


# --- overview -----------------------------------------------------------------------------


def overview_query(rel: Relation) -> str:
    return f"""
with

item_months as (
    select
        cast(date_trunc('month', purchased_at) as date) as order_month,
        sum(price_brl) as gmv_brl
    from {rel("fct_order_items")}
    where {REVENUE_ORDER}
    group by cast(date_trunc('month', purchased_at) as date)
),

order_months as (
    select
        cast(date_trunc('month', purchased_at) as date) as order_month,
        sum(case when {REVENUE_ORDER} then 1 else 0 end) as count_orders,
        sum(case when {REVENUE_ORDER} then payment_value_brl else 0 end) as revenue_payments_brl,
        sum(
            case
                when delivered_to_customer_at is not null and estimated_delivery_date is not null
                    then 1
                else 0
            end
        ) as count_delivered_orders,
        sum(
            case
                when estimated_delivery_date is not null and is_delivered_late then 1 else 0
            end
        ) as count_late_orders,
        avg(cast(review_score as double precision)) as average_review_score
    from {rel("fct_orders")}
    group by cast(date_trunc('month', purchased_at) as date)
)

select
    order_months.order_month,
    coalesce(item_months.gmv_brl, 0) as gmv_brl,
    order_months.count_orders,
    order_months.revenue_payments_brl,
    order_months.count_delivered_orders,
    order_months.count_late_orders,
    order_months.average_review_score
from order_months
left join item_months
    on order_months.order_month = item_months.order_month
order by order_months.order_month
"""


def overview_months(rows: list[Row]) -> list[Row]:
    """Per month: gmv, orders, aov, late_share and review, as floats (None where undefined)."""
    months = []
    for row in rows:
        orders = number(row["count_orders"]) or 0
        delivered = number(row["count_delivered_orders"]) or 0
        months.append(
            {
                "month": month_label(row["order_month"]),
                "gmv": number(row["gmv_brl"]),
                "orders": orders,
                "aov": number(row["revenue_payments_brl"]) / orders if orders else None,
                "late_share": number(row["count_late_orders"]) / delivered if delivered else None,
                "review": number(row["average_review_score"]),
            }
        )
    return months


def latest_complete_month(months: list[Row]) -> int | None:
    """Index of the latest complete month: the one before the month of the last revenue order.

    A month is complete once orders of a later month have arrived. The last revenue order
    rather than the last purchase: the Olist history ends in months holding only a few
    canceled orders, which would otherwise make an empty month the headline. None while the
    history is too short to hold a complete month and the month before it.
    """
    with_orders = [index for index, month in enumerate(months) if month["orders"]]
    if not with_orders or with_orders[-1] < 2:
        return None
    return with_orders[-1] - 1


def render_overview(rows: list[Row]) -> Content:
    months = overview_months(rows)
    latest = latest_complete_month(months)
    if latest is None:
        empty: Row = {
            "month": "n/a",
            "gmv": None,
            "orders": None,
            "aov": None,
            "late_share": None,
            "review": None,
        }
        current, previous = empty, empty
    else:
        current, previous = months[latest], months[latest - 1]
    tiles = tuple(
        Tile(key, label, current[key], previous[key], kind)
        for key, label, kind in (
            ("gmv", "GMV", "money"),
            ("orders", "Orders", "count"),
            ("aov", "Average order value", "money"),
            ("late_share", "Late-delivery share", "share"),
            ("review", "Average review score", "score"),
        )
    )
    labels = [month["month"] for month in months]
    gmv = go.Figure(go.Bar(x=labels, y=[m["gmv"] for m in months], name="GMV (BRL)"))
    _layout(gmv, "GMV by purchase month (BRL)")
    quality = go.Figure()
    quality.add_trace(
        go.Scatter(x=labels, y=[m["late_share"] for m in months], name="Late-delivery share")
    )
    quality.add_trace(
        go.Scatter(
            x=labels, y=[m["review"] for m in months], name="Average review score", yaxis="y2"
        )
    )
    _layout(
        quality,
        "Late deliveries and reviews by purchase month",
        yaxis={"tickformat": ".0%", "title": "late share"},
        yaxis2={"overlaying": "y", "side": "right", "range": [1, 5], "title": "review"},
    )
    return Content(
        tiles=tiles,
        charts=(("overview-gmv", gmv), ("overview-quality", quality)),
        note=(
            f"Headline figures for {current['month']}, the latest complete month (the month "
            f"before that of the last revenue order), against {previous['month']}."
            if latest is not None
            else "No complete month yet: the tiles need a month with a later month of "
            "revenue orders and a month before it."
        ),
    )


# --- monthly revenue by category ----------------------------------------------------------


def category_query(rel: Relation) -> str:
    return f"""
select
    order_month,
    product_category,
    count_orders,
    count_order_items,
    revenue_brl,
    freight_value_brl
from {rel("monthly_revenue_by_category")}
order by order_month, product_category
"""


def _top(totals: dict[str, float], count: int) -> list[str]:
    return [name for name, _ in sorted(totals.items(), key=lambda kv: (-kv[1], kv[0]))[:count]]


def render_category(rows: list[Row]) -> Content:
    totals: dict[str, float] = defaultdict(float)
    items: dict[str, float] = defaultdict(float)
    for row in rows:
        totals[row["product_category"]] += number(row["revenue_brl"]) or 0
        items[row["product_category"]] += number(row["count_order_items"]) or 0
    top = _top(totals, 8)
    months = sorted({month_label(row["order_month"]) for row in rows})
    series: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for row in rows:
        name = row["product_category"] if row["product_category"] in top else "other"
        series[name][month_label(row["order_month"])] += number(row["revenue_brl"]) or 0
    stacked = go.Figure(
        [go.Bar(x=months, y=[series[n][m] for m in months], name=n) for n in [*top, "other"]]
    )
    _layout(stacked, "Revenue by month and category (top 8, BRL)", barmode="stack")
    table = [[name, money(totals[name]), f"{items[name]:,.0f}"] for name in _top(totals, 15)]
    return Content(
        charts=(("category-by-month", stacked),),
        tables=(("Top 15 categories, all months", ["Category", "Revenue", "Items"], table),),
    )


# --- revenue by state ---------------------------------------------------------------------


def state_query(rel: Relation) -> str:
    return f"""
select
    order_month,
    customer_state,
    count_orders,
    revenue_brl,
    payment_value_brl
from {rel("monthly_revenue_by_state")}
order by order_month, customer_state
"""


def render_state(rows: list[Row]) -> Content:
    revenue: dict[str, float] = defaultdict(float)
    orders: dict[str, float] = defaultdict(float)
    payments: dict[str, float] = defaultdict(float)
    for row in rows:
        state = row["customer_state"]
        revenue[state] += number(row["revenue_brl"]) or 0
        orders[state] += number(row["count_orders"]) or 0
        payments[state] += number(row["payment_value_brl"]) or 0
    ranked = _top(revenue, len(revenue))
    bars = go.Figure(
        go.Bar(x=[revenue[s] for s in reversed(ranked)], y=list(reversed(ranked)), orientation="h")
    )
    _layout(bars, "Revenue by customer state, all months (BRL)", height=max(420, 22 * len(ranked)))
    months = sorted({month_label(row["order_month"]) for row in rows})
    trend = go.Figure()
    for state in ranked[:5]:
        by_month = {
            month_label(r["order_month"]): number(r["revenue_brl"])
            for r in rows
            if r["customer_state"] == state
        }
        trend.add_trace(go.Scatter(x=months, y=[by_month.get(m) for m in months], name=state))
    _layout(trend, "Monthly revenue of the five largest states (BRL)")
    table = [
        [s, money(revenue[s]), f"{orders[s]:,.0f}", money(payments[s] / orders[s])] for s in ranked
    ]
    return Content(
        charts=(("state-ranked", bars), ("state-trend", trend)),
        tables=(
            ("States, all months", ["State", "Revenue", "Orders", "Average order value"], table),
        ),
    )


# --- payment mix --------------------------------------------------------------------------


def payment_query(rel: Relation) -> str:
    return f"""
select
    order_month,
    payment_type,
    installments_bucket,
    installments_bucket_order,
    count_orders,
    payment_value_brl
from {rel("payment_mix_by_type")}
order by order_month, payment_type, installments_bucket_order
"""


def render_payment(rows: list[Row]) -> Content:
    months = sorted({month_label(row["order_month"]) for row in rows})
    by_type: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    buckets: dict[tuple[int, str], float] = defaultdict(float)
    for row in rows:
        by_type[row["payment_type"]][month_label(row["order_month"])] += (
            number(row["payment_value_brl"]) or 0
        )
        key = (int(row["installments_bucket_order"]), row["installments_bucket"])
        buckets[key] += number(row["count_orders"]) or 0
    mix = go.Figure(
        [go.Bar(x=months, y=[by_type[t][m] for m in months], name=t) for t in sorted(by_type)]
    )
    _layout(
        mix, "Share of payment value by payment type, per month", barmode="stack", barnorm="percent"
    )
    ordered = sorted(buckets)
    instalments = go.Figure(go.Bar(x=[b[1] for b in ordered], y=[buckets[b] for b in ordered]))
    _layout(instalments, "Paid orders by instalments (all months)")
    totals = {t: sum(v.values()) for t, v in by_type.items()}
    table = [[t, money(totals[t])] for t in _top(totals, len(totals))]
    return Content(
        charts=(("payment-mix", mix), ("payment-instalments", instalments)),
        tables=(("Payment value by type, all months", ["Payment type", "Payment value"], table),),
    )


# --- seller scorecard ---------------------------------------------------------------------


def seller_query(rel: Relation) -> str:
    return f"""
select
    seller_id,
    seller_state,
    count_orders,
    revenue_brl,
    on_time_delivery_rate,
    average_review_score
from {rel("seller_performance")}
order by revenue_brl desc, seller_id
"""


def render_seller(rows: list[Row]) -> Content:
    top = rows[:20]
    labels = [f"{row['seller_id'][:8]} ({row['seller_state']})" for row in top]
    bars = go.Figure(
        go.Bar(
            x=[number(r["revenue_brl"]) for r in reversed(top)],
            y=list(reversed(labels)),
            orientation="h",
            marker={
                "color": [number(r["on_time_delivery_rate"]) for r in reversed(top)],
                "colorscale": "RdYlGn",
                "cmin": 0.5,
                "cmax": 1,
                "colorbar": {"title": "on time"},
            },
        )
    )
    _layout(bars, "Top 20 sellers by revenue (colour: on-time delivery rate)", height=600)
    rated = [r for r in rows if r["average_review_score"] is not None]
    scatter = go.Figure(
        go.Scatter(
            x=[number(r["revenue_brl"]) for r in rated],
            y=[number(r["average_review_score"]) for r in rated],
            mode="markers",
            text=[r["seller_id"] for r in rated],
            marker={"size": 6, "opacity": 0.6},
        )
    )
    _layout(scatter, "Revenue and average review score per seller", xaxis={"type": "log"})

    def share(value: Any) -> str:
        return "n/a" if value is None else f"{number(value):.1%}"

    def score(value: Any) -> str:
        return "n/a" if value is None else f"{number(value):.2f}"

    table = [
        [
            r["seller_id"],
            r["seller_state"],
            f"{number(r['count_orders']):,.0f}",
            money(number(r["revenue_brl"])),
            share(r["on_time_delivery_rate"]),
            score(r["average_review_score"]),
        ]
        for r in top
    ]
    headers = ["Seller", "State", "Orders", "Revenue", "On time", "Review"]
    return Content(
        charts=(("seller-top", bars), ("seller-scatter", scatter)),
        tables=(("Top 20 sellers by revenue", headers, table),),
    )


# --- delivery performance -----------------------------------------------------------------


def delivery_query(rel: Relation) -> str:
    return f"""
select
    customer_state,
    count_delivered_orders,
    count_late_orders,
    late_delivery_rate,
    average_days_to_deliver,
    average_review_score_on_time,
    average_review_score_late
from {rel("delivery_performance_by_state")}
order by late_delivery_rate desc, customer_state
"""


def render_delivery(rows: list[Row]) -> Content:
    states = [r["customer_state"] for r in rows]
    late = go.Figure(go.Bar(x=states, y=[number(r["late_delivery_rate"]) for r in rows]))
    _layout(late, "Late-delivery rate by customer state", yaxis={"tickformat": ".0%"})
    scatter = go.Figure(
        go.Scatter(
            x=[number(r["average_days_to_deliver"]) for r in rows],
            y=[number(r["late_delivery_rate"]) for r in rows],
            mode="markers+text",
            text=states,
            textposition="top center",
            marker={
                "size": [max(6, (number(r["count_delivered_orders"]) or 0) ** 0.5) for r in rows]
            },
        )
    )
    _layout(
        scatter,
        "Days to deliver and late rate (size: delivered orders)",
        yaxis={"tickformat": ".0%"},
        xaxis={"title": "average days to deliver"},
    )

    def score(value: Any) -> str:
        return "n/a" if value is None else f"{number(value):.2f}"

    table = [
        [
            r["customer_state"],
            f"{number(r['count_delivered_orders']):,.0f}",
            f"{number(r['late_delivery_rate']):.1%}",
            f"{number(r['average_days_to_deliver']):.1f}",
            score(r["average_review_score_on_time"]),
            score(r["average_review_score_late"]),
        ]
        for r in rows
    ]
    headers = ["State", "Delivered", "Late", "Days to deliver", "Review on time", "Review late"]
    return Content(
        charts=(("delivery-late", late), ("delivery-scatter", scatter)),
        tables=(("Delivery by state", headers, table),),
    )


# --- customer segments --------------------------------------------------------------------


def customer_query(rel: Relation) -> str:
    return f"""
select
    customer_segment,
    count(*) as count_customers,
    sum(lifetime_value_brl) as lifetime_value_brl,
    avg(average_review_score) as average_review_score
from {rel("customer_360")}
group by customer_segment
order by customer_segment
"""


def render_customer(rows: list[Row]) -> Content:
    segments = [r["customer_segment"] for r in rows]
    counts = go.Figure(go.Bar(x=segments, y=[number(r["count_customers"]) for r in rows]))
    _layout(counts, "Customers by segment")
    value = go.Figure(go.Bar(x=segments, y=[number(r["lifetime_value_brl"]) for r in rows]))
    _layout(value, "Payments of revenue orders by segment (BRL)")
    table = [
        [
            r["customer_segment"],
            f"{number(r['count_customers']):,.0f}",
            money(number(r["lifetime_value_brl"])),
            "n/a"
            if r["average_review_score"] is None
            else f"{number(r['average_review_score']):.2f}",
        ]
        for r in rows
    ]
    headers = ["Segment", "Customers", "Lifetime value", "Average review"]
    return Content(
        charts=(("customer-count", counts), ("customer-value", value)),
        tables=(("Segments", headers, table),),
        note="Segments by the number of orders of each person: no orders, one, two or more.",
    )


PAGES: tuple[Page, ...] = (
    Page(
        "index",
        "Overview",
        None,
        "Headline figures of the latest complete month and the monthly trend.",
        overview_query,
        render_overview,
    ),
    Page(
        "monthly-revenue-by-category",
        "Monthly revenue by category",
        "monthly_revenue_dashboard",
        "Revenue, items and orders per product category and purchase month.",
        category_query,
        render_category,
    ),
    Page(
        "monthly-revenue-by-state",
        "Monthly revenue by customer state",
        "revenue_by_state_dashboard",
        "Where revenue comes from: revenue, orders and average order value per state.",
        state_query,
        render_state,
    ),
    Page(
        "payment-mix",
        "Payment mix",
        "payment_mix_dashboard",
        "How customers pay: payment value by type and orders by instalments, per month.",
        payment_query,
        render_payment,
    ),
    Page(
        "seller-scorecard",
        "Seller scorecard",
        "seller_scorecard_dashboard",
        "Sellers ranked by revenue, with on-time delivery rate and review score.",
        seller_query,
        render_seller,
    ),
    Page(
        "delivery-performance",
        "Delivery performance by state",
        "delivery_performance_dashboard",
        "Late deliveries, delivery time and reviews per customer state.",
        delivery_query,
        render_delivery,
    ),
    Page(
        "customer-360",
        "Customer 360",
        "customer_360_dashboard",
        "Customer segments by order history, with what they paid and their reviews.",
        customer_query,
        render_customer,
    ),
)
