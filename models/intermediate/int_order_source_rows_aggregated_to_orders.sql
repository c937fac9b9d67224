-- grain: one row per order (order_id)
-- Lineage of each order of the facts, what their incremental runs compare with the watermark:
-- the newest load time (_loaded_at) and drop date (_ingest_date) among the rows the order is
-- built from (its order row, items, payments, reviews and customer record), and the same over
-- every order row and customer record of its customer (customer_unique_id), because the
-- customer's address history, and so the order's point-in-time address, depends on all of them.
with

orders as (
    select * from {{ ref('stg_olist__orders') }}
),

order_items as (
    select * from {{ ref('stg_olist__order_items') }}
),

order_payments as (
    select * from {{ ref('stg_olist__order_payments') }}
),

order_reviews as (
    select * from {{ ref('stg_olist__order_reviews') }}
),

customers as (
    select * from {{ ref('stg_olist__customers') }}
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

-- Every customer record of the person, and the order row of each of their orders.
customer_rows as (
    select
        customer_unique_id,
        _loaded_at,
        _ingest_date
    from customers
    union all
    select
        customers.customer_unique_id,
        orders._loaded_at,
        orders._ingest_date
    from orders
    inner join customers
        on orders.customer_id = customers.customer_id
),

customer_sources as (
    select
        customer_unique_id,
        max(_loaded_at) as loaded_at,
        max(_ingest_date) as ingest_date
    from customer_rows
    group by customer_unique_id
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
