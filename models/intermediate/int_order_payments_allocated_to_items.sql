{{ config(unique_key='order_id', dist='order_id') }}
-- grain: one row per order item (order_id, order_item_id)
-- Splits each order's payments across its items in proportion to price + freight, in whole
-- cents: every item gets the floor of its share and the remaining cents (fewer than the
-- number of items) go to the lowest order_item_id, so items sum exactly to the order's payments.
-- Incremental by whole orders: a run recomputes the orders with an item or a payment total
-- since the table's watermark (macros/incremental_watermark.sql).
with

{% if is_incremental() %}
    {%- set watermark = incremental_watermark() %}

    changed_orders as (
        {{ keys_since_watermark(ref('stg_olist__order_items'), 'order_id', watermark) }}
        union
        {{ keys_since_watermark(
            ref('int_order_payments_summed_to_orders'), 'order_id', watermark
        ) }}
    ),
{% endif %}

order_items as (
    select * from {{ ref('stg_olist__order_items') }}
    {{ where_changed('order_id', 'changed_orders') }}
),

order_payments as (
    select * from {{ ref('int_order_payments_summed_to_orders') }}
    {{ where_changed('order_id', 'changed_orders') }}
),

-- The newest load and drop date behind each order's allocation: its items and payments.
order_sources as (
    select
        order_id,
        max(_loaded_at) as _loaded_at,
        max(_ingest_date) as _ingest_date
    from (
        select
            order_id,
            _loaded_at,
            _ingest_date
        from order_items
        union all
        select
            order_id,
            _loaded_at,
            _ingest_date
        from order_payments
    ) as source_rows
    group by order_id
),

-- Weights and amounts in integer cents so that the split is exact on every engine.
weighted as (
    select
        order_items.order_id,
        order_items.order_item_id,
        order_items.price_brl,
        order_items.freight_value_brl,
        coalesce(order_payments.payment_value_brl, 0) as order_payment_value_brl,
        cast(coalesce(order_payments.payment_value_brl, 0) * 100 as bigint) as order_payment_cents,
        cast(
            (order_items.price_brl + order_items.freight_value_brl) * 100 as bigint
        ) as item_total_cents,
        row_number() over (
            partition by order_items.order_id
            order by order_items.order_item_id
        ) as item_rank
    from order_items
    left join order_payments
        on order_items.order_id = order_payments.order_id
),

-- An order whose items are all free (price + freight = 0) is split equally.
weights as (
    select
        weighted.*,
        case
            when sum(item_total_cents) over (partition by order_id) > 0
                then item_total_cents
            else 1
        end as weight
    from weighted
),

floored as (
    select
        weights.*,
        {{ integer_divide(
            'order_payment_cents * weight',
            'sum(weight) over (partition by order_id)'
        ) }} as floor_share_cents
    from weights
),

allocated as (
    select
        floored.*,
        floor_share_cents
        + case
            when item_rank = 1
                then order_payment_cents - sum(floor_share_cents) over (partition by order_id)
            else 0
        end as allocated_payment_cents
    from floored
),

final as (
    select
        allocated.order_id,
        allocated.order_item_id,
        allocated.price_brl,
        allocated.freight_value_brl,
        cast(allocated.order_payment_value_brl as numeric(12, 2)) as order_payment_value_brl,
        -- multiply rather than divide: DuckDB turns decimal division into a double
        cast(
            cast(allocated.allocated_payment_cents as numeric(18, 0))
            * cast(0.01 as numeric(3, 2))
            as numeric(12, 2)
        ) as allocated_payment_brl,
        order_sources._loaded_at,
        order_sources._ingest_date
    from allocated
    inner join order_sources
        on allocated.order_id = order_sources.order_id
)

select * from final
