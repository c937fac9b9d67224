{{ config(
    materialized='incremental',
    unique_key='order_id',
    incremental_strategy='delete+insert',
    on_schema_change='fail',
    meta={'recomputed_by_person': true},
) }}
-- grain: one row per order
-- Incremental by whole orders: a run replaces every changed order (see
-- macros/marts/incremental_orders.sql). `dbt build --full-refresh` rebuilds it from scratch.
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

orders as (
    select * from {{ ref('int_orders_enriched_with_durations') }}
    {{ where_changed('order_id', 'changed_orders') }}
),

customers as (
    select * from {{ ref('stg_olist__customers') }}
),

customer_history as (
    select * from {{ ref('dim_customers_history') }}
),

payments as (
    select * from {{ ref('int_order_payments_summed_to_orders') }}
    {{ where_changed('order_id', 'changed_orders') }}
),

allocations as (
    select * from {{ ref('int_order_payments_allocated_to_items') }}
    {{ where_changed('order_id', 'changed_orders') }}
),

reviews as (
    select * from {{ ref('int_order_reviews_deduplicated_to_orders') }}
    {{ where_changed('order_id', 'changed_orders') }}
),

order_items_summed as (
    select
        order_id,
        count(*) as count_items,
        sum(price_brl) as items_price_brl,
        sum(freight_value_brl) as items_freight_value_brl,
        sum(allocated_payment_brl) as allocated_payment_brl
    from allocations
    group by order_id
),

joined as (
    select
        orders.order_id,
        orders.customer_id,
        customers.customer_unique_id,
        customer_history.customer_history_key,
        customer_history.zip_code_prefix as customer_zip_code_prefix_at_order,
        customer_history.city as customer_city_at_order,
        customer_history.state as customer_state_at_order,
        {{ date_key('orders.purchased_at') }} as purchase_date_key,
        orders.order_status,
        orders.purchased_at,
        orders.approved_at,
        orders.delivered_to_carrier_at,
        orders.delivered_to_customer_at,
        orders.estimated_delivery_date,
        coalesce(order_items_summed.count_items, 0) as count_items,
        coalesce(order_items_summed.items_price_brl, 0) as items_price_brl,
        coalesce(order_items_summed.items_freight_value_brl, 0) as items_freight_value_brl,
        payments.primary_payment_type,
        coalesce(payments.count_payments, 0) as count_payments,
        payments.count_installments_max,
        coalesce(payments.payment_value_brl, 0) as payment_value_brl,
        coalesce(order_items_summed.allocated_payment_brl, 0) as allocated_payment_brl,
        orders.days_to_approve,
        orders.days_to_carrier,
        orders.days_carrier_to_customer,
        orders.days_to_deliver,
        orders.days_promised,
        orders.days_delivered_after_estimate,
        orders.is_delivered,
        orders.is_delivered_late,
        reviews.review_score,
        coalesce(reviews.count_reviews, 0) as count_reviews,
        order_lineage._source_loaded_at,
        order_lineage._source_ingest_date
    from orders
    inner join customers
        on orders.customer_id = customers.customer_id
    inner join order_lineage
        on orders.order_id = order_lineage.order_id
    -- point in time: the customer's address when the order was placed
    left join customer_history
        on
            customers.customer_unique_id = customer_history.customer_unique_id
            and orders.purchased_at >= customer_history.valid_from
            and (
                customer_history.valid_to is null
                or orders.purchased_at < customer_history.valid_to
            )
    left join order_items_summed
        on orders.order_id = order_items_summed.order_id
    left join payments
        on orders.order_id = payments.order_id
    left join reviews
        on orders.order_id = reviews.order_id
),

final as (
    select
        order_id,
        customer_id,
        customer_unique_id,
        customer_history_key,
        customer_zip_code_prefix_at_order,
        customer_city_at_order,
        customer_state_at_order,
        purchase_date_key,
        order_status,
        purchased_at,
        approved_at,
        delivered_to_carrier_at,
        delivered_to_customer_at,
        estimated_delivery_date,
        cast(count_items as integer) as count_items,
        cast(items_price_brl as numeric(12, 2)) as items_price_brl,
        cast(items_freight_value_brl as numeric(12, 2)) as items_freight_value_brl,
        cast(items_price_brl + items_freight_value_brl as numeric(12, 2)) as items_total_brl,
        primary_payment_type,
        cast(count_payments as integer) as count_payments,
        count_installments_max,
        cast(payment_value_brl as numeric(12, 2)) as payment_value_brl,
        cast(allocated_payment_brl as numeric(12, 2)) as allocated_payment_brl,
        -- Payments of an order without items (cancelled or unavailable orders) stay here:
        -- there is no item to carry them.
        cast(
            payment_value_brl - allocated_payment_brl as numeric(12, 2)
        ) as unallocated_payment_brl,
        cast(days_to_approve as double precision) as days_to_approve,
        cast(days_to_carrier as double precision) as days_to_carrier,
        cast(days_carrier_to_customer as double precision) as days_carrier_to_customer,
        cast(days_to_deliver as double precision) as days_to_deliver,
        cast(days_promised as double precision) as days_promised,
        cast(days_delivered_after_estimate as integer) as days_delivered_after_estimate,
        is_delivered,
        is_delivered_late,
        review_score,
        cast(count_reviews as integer) as count_reviews,
        _source_loaded_at,
        _source_ingest_date
    from joined
)

select * from final
