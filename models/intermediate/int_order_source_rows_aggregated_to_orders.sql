{{ config(unique_key='order_id', dist='order_id', meta={'recomputed_by_person': true}) }}
-- grain: one row per order (order_id)
-- Lineage of each order of the facts, what their incremental runs compare with the watermark:
-- the newest load time (_loaded_at) and drop date (_ingest_date) among the rows the order is
-- built from (its order row, items, payments, reviews and customer record), and the same over
-- every order row and customer record of its customer (customer_unique_id), because the
-- customer's address history, and so the order's point-in-time address, depends on all of them
-- (read from the address periods, which derive from those rows and carry their newest).
-- Incremental by whole orders: a run recomputes the orders with a row of their own since the
-- table's watermark (macros/incremental_watermark.sql) and every order of the people whose
-- customer-wide lineage moved, so the daily facts find their changed orders here without
-- aggregating every source row.
-- An incremental run first finds the changed orders from the staging tables themselves, then
-- reads only their rows: the import CTEs below are filtered, so no whole table is held.
with

{% if is_incremental() %}
    {%- set watermark = incremental_watermark('_source_loaded_at', '_source_ingest_date') %}

    -- orders with a row of their own (order, item, payment, review, customer record) since
    -- the watermark
    orders_with_new_rows as (
        {{ keys_since_watermark(ref('stg_olist__orders'), 'order_id', watermark) }}
        union
        {{ keys_since_watermark(ref('stg_olist__order_items'), 'order_id', watermark) }}
        union
        {{ keys_since_watermark(ref('stg_olist__order_payments'), 'order_id', watermark) }}
        union
        {{ keys_since_watermark(ref('stg_olist__order_reviews'), 'order_id', watermark) }}
        union
        {{ keys_referencing_new_rows(
            ref('stg_olist__orders'),
            'order_id',
            'customer_id',
            ref('stg_olist__customers'),
            watermark,
        ) }}
    ),

    -- the people whose customer-wide lineage moved: a customer record or an order row of
    -- theirs since the watermark (their address periods carry the newest of those rows)
    changed_people as (
        {{ keys_since_watermark(
            ref('int_customer_addresses_collapsed_to_periods'), 'customer_unique_id', watermark
        ) }}
    ),

    -- the orders to recompute: those with new rows, and every order of those people (the
    -- table already holds each order with its person; a new order has a new row)
    changed_orders as (
        select orders_with_new_rows.order_id
        from orders_with_new_rows
        union
        select seen.order_id
        from {{ this }} as seen
        where
            seen.customer_unique_id in (
                select changed_people.customer_unique_id from changed_people
            )
    ),
{% endif %}

orders as (
    select * from {{ ref('stg_olist__orders') }}
    {{ where_changed('order_id', 'changed_orders') }}
),

order_items as (
    select * from {{ ref('stg_olist__order_items') }}
    {{ where_changed('order_id', 'changed_orders') }}
),

order_payments as (
    select * from {{ ref('stg_olist__order_payments') }}
    {{ where_changed('order_id', 'changed_orders') }}
),

order_reviews as (
    select * from {{ ref('stg_olist__order_reviews') }}
    {{ where_changed('order_id', 'changed_orders') }}
),

-- the customer records of those orders
customers as (
    select * from {{ ref('stg_olist__customers') }}
    {{ where_changed('customer_id', 'orders') }}
),

-- the periods of their people, whose lineage the orders carry
address_periods as (
    select * from {{ ref('int_customer_addresses_collapsed_to_periods') }}
    {{ where_changed('customer_unique_id', 'customers') }}
),

order_rows as (
    select
        order_id,
        _loaded_at,
        _ingest_date
    from orders
    union all
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
    union all
    select
        order_id,
        _loaded_at,
        _ingest_date
    from order_reviews
    union all
    select
        orders.order_id,
        customers._loaded_at,
        customers._ingest_date
    from orders
    inner join customers
        on orders.customer_id = customers.customer_id
),

order_sources as (
    select
        order_id,
        max(_loaded_at) as loaded_at,
        max(_ingest_date) as ingest_date
    from order_rows
    group by order_id
),

-- The newest load and drop date among every customer record and order row of each person:
-- the address periods derive from those rows and carry them.
customer_sources as (
    select distinct
        customer_unique_id,
        _loaded_at as loaded_at,
        _ingest_date as ingest_date
    from address_periods
),

final as (
    select
        orders.order_id,
        customers.customer_unique_id,
        order_sources.loaded_at as _source_loaded_at,
        order_sources.ingest_date as _source_ingest_date,
        customer_sources.loaded_at as customer_rows_loaded_at,
        customer_sources.ingest_date as customer_rows_ingest_date
    from orders
    inner join order_sources
        on orders.order_id = order_sources.order_id
    left join customers
        on orders.customer_id = customers.customer_id
    left join customer_sources
        on customers.customer_unique_id = customer_sources.customer_unique_id
)

select * from final
