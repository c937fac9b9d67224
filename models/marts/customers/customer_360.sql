{{ config(
    materialized='incremental',
    unique_key='customer_unique_id',
    incremental_strategy='delete+insert',
    on_schema_change='fail',
) }}
-- grain: one row per customer (customer_unique_id), every customer of dim_customers,
-- including those without an order in the loaded data.
-- Lifetime value is what the customer paid for orders that count towards revenue
-- (is_revenue_order); canceled and unavailable orders still count as orders placed.
-- Incremental by person: a run recomputes, from all their orders, the people whose row of
-- dim_customers or one of whose orders of fct_orders changed since the table's watermark
-- (a new order, a status change, a late review or payment, a move), and replaces their rows.
with

{% if is_incremental() %}
    {%- set watermark = incremental_watermark('_source_loaded_at', '_source_ingest_date') %}

    -- read from the inputs themselves: the import CTEs below then hold only the changed
    -- people's rows, not whole tables
    changed_people as (
        {{ keys_since_watermark(
            ref('dim_customers'), 'customer_unique_id', watermark,
            '_source_loaded_at', '_source_ingest_date',
        ) }}
        union
        {{ keys_since_watermark(
            ref('fct_orders'), 'customer_unique_id', watermark,
            '_source_loaded_at', '_source_ingest_date',
        ) }}
    ),
{% endif %}

customers as (
    select * from {{ ref('dim_customers') }}
    {{ where_changed('customer_unique_id', 'changed_people') }}
),

orders as (
    select * from {{ ref('fct_orders') }}
    {{ where_changed('customer_unique_id', 'changed_people') }}
),

customer_orders as (
    select
        customer_unique_id,
        count(*) as count_orders,
        sum(case when {{ is_revenue_order('order_status') }} then 1 else 0 end)
            as count_revenue_orders,
        sum(case when is_delivered then 1 else 0 end) as count_delivered_orders,
        sum(case when is_delivered_late then 1 else 0 end) as count_late_deliveries,
        sum(count_items) as count_items,
        min(purchased_at) as first_order_at,
        max(purchased_at) as last_order_at,
        sum(
            case when {{ is_revenue_order('order_status') }} then payment_value_brl else 0 end
        ) as lifetime_value_brl,
        count(review_score) as count_reviewed_orders,
        avg(cast(review_score as double precision)) as average_review_score,
        max(_source_loaded_at) as orders_loaded_at,
        max(_source_ingest_date) as orders_ingest_date
    from orders
    group by customer_unique_id
),

final as (
    select
        customers.customer_unique_id,
        customers.city as current_city,
        customers.state as current_state,
        customers.zip_code_prefix as current_zip_code_prefix,
        cast(customers.count_zip_code_prefixes as integer) as count_zip_code_prefixes,
        customer_orders.first_order_at,
        customer_orders.last_order_at,
        cast(
            {{ dbt.datediff(
                'customer_orders.first_order_at', 'customer_orders.last_order_at', 'day'
            ) }} as integer
        ) as days_first_to_last_order,
        cast(coalesce(customer_orders.count_orders, 0) as integer) as count_orders,
        cast(coalesce(customer_orders.count_revenue_orders, 0) as integer) as count_revenue_orders,
        cast(coalesce(customer_orders.count_delivered_orders, 0) as integer)
            as count_delivered_orders,
        cast(coalesce(customer_orders.count_late_deliveries, 0) as integer)
            as count_late_deliveries,
        cast(coalesce(customer_orders.count_items, 0) as integer) as count_items,
        cast(coalesce(customer_orders.lifetime_value_brl, 0) as numeric(14, 2))
            as lifetime_value_brl,
        cast(customer_orders.lifetime_value_brl as double precision)
        / nullif(customer_orders.count_revenue_orders, 0) as average_order_value_brl,
        cast(coalesce(customer_orders.count_reviewed_orders, 0) as integer)
            as count_reviewed_orders,
        customer_orders.average_review_score,
        case
            when customer_orders.count_orders is null then 'no orders'
            when customer_orders.count_orders = 1 then 'one order'
            else 'repeat'
        end as customer_segment,
        -- lineage: the newest of the person's row and orders (greatest() ignores nulls)
        greatest(customers._source_loaded_at, customer_orders.orders_loaded_at)
            as _source_loaded_at,
        greatest(customers._source_ingest_date, customer_orders.orders_ingest_date)
            as _source_ingest_date
    from customers
    left join customer_orders
        on customers.customer_unique_id = customer_orders.customer_unique_id
)

select * from final
