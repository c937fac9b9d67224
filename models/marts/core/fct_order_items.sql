{{ config(
    materialized='incremental',
    unique_key='order_id',
    incremental_strategy='delete+insert',
    on_schema_change='fail',
    meta={'recomputed_by_person': true},
) }}
-- grain: one row per order item (order_id, order_item_id)
-- Incremental by whole orders: a run deletes the items of every changed order and inserts
-- its current items (see macros/marts/incremental_orders.sql), so items that left an order
-- leave the table too. `dbt build --full-refresh` rebuilds it from scratch.
with

{% if is_incremental() %}
    -- what the table has seen, and the orders changed since (macros/marts/incremental_orders.sql)
    {%- set watermark = incremental_watermark('_source_loaded_at', '_source_ingest_date') %}

    changed_orders as (
        {{ changed_orders_since_watermark(
            ref('int_order_source_rows_aggregated_to_orders'), watermark
        ) }}
    ),
{% endif %}

order_lineage as (
    select * from {{ ref('int_order_source_rows_aggregated_to_orders') }}
    {{ where_changed('order_id', 'changed_orders') }}
),

order_items as (
    select * from {{ ref('stg_olist__order_items') }}
    {{ where_changed('order_id', 'changed_orders') }}
),

allocations as (
    select * from {{ ref('int_order_payments_allocated_to_items') }}
    {{ where_changed('order_id', 'changed_orders') }}
),

orders as (
    select * from {{ ref('int_orders_enriched_with_durations') }}
    {{ where_changed('order_id', 'changed_orders') }}
),

reviews as (
    select * from {{ ref('int_order_reviews_deduplicated_to_orders') }}
    {{ where_changed('order_id', 'changed_orders') }}
),

customers as (
    select * from {{ ref('stg_olist__customers') }}
),

customer_history as (
    select * from {{ ref('dim_customers_history') }}
),

final as (
    select
        {{ surrogate_key(['order_items.order_id', 'order_items.order_item_id']) }}
            as order_item_key,
        order_items.order_id,
        order_items.order_item_id,
        orders.customer_id,
        customers.customer_unique_id,
        customer_history.customer_history_key,
        customer_history.zip_code_prefix as customer_zip_code_prefix_at_order,
        customer_history.city as customer_city_at_order,
        customer_history.state as customer_state_at_order,
        order_items.product_id,
        order_items.seller_id,
        {{ date_key('orders.purchased_at') }} as purchase_date_key,
        orders.order_status,
        orders.purchased_at,
        order_items.shipping_limit_at,
        order_items.price_brl,
        order_items.freight_value_brl,
        cast(
            order_items.price_brl + order_items.freight_value_brl as numeric(12, 2)
        ) as item_total_brl,
        allocations.allocated_payment_brl,
        orders.days_to_deliver,
        orders.is_delivered_late,
        reviews.review_score,
        order_lineage._source_loaded_at,
        order_lineage._source_ingest_date
    from order_items
    inner join orders
        on order_items.order_id = orders.order_id
    inner join allocations
        on
            order_items.order_id = allocations.order_id
            and order_items.order_item_id = allocations.order_item_id
    inner join customers
        on orders.customer_id = customers.customer_id
    inner join order_lineage
        on order_items.order_id = order_lineage.order_id
    -- point in time: the customer's address when the order was placed
    left join customer_history
        on
            customers.customer_unique_id = customer_history.customer_unique_id
            and orders.purchased_at >= customer_history.valid_from
            and (
                customer_history.valid_to is null
                or orders.purchased_at < customer_history.valid_to
            )
    left join reviews
        on order_items.order_id = reviews.order_id
)

select * from final
