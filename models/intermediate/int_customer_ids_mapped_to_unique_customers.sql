-- grain: one row per customer_id (every customer record, with or without an order)
-- Maps each customer_id to its person (customer_unique_id) and flags the record whose
-- address is the person's current one: the record of the latest order.
with

customers as (
    select * from {{ ref('stg_olist__customers') }}
),

orders as (
    select * from {{ ref('stg_olist__orders') }}
),

-- customer_id is one per order in the source; keep the latest order should a record have several.
customer_orders as (
    select
        customer_id,
        count(*) as count_orders,
        max(purchased_at) as last_purchased_at
    from orders
    group by customer_id
),

joined as (
    select
        customers.customer_id,
        customers.customer_unique_id,
        customers.customer_zip_code_prefix,
        customers.customer_city,
        customers.customer_state,
        coalesce(customer_orders.count_orders, 0) as count_orders,
        customer_orders.last_purchased_at
    from customers
    left join customer_orders
        on customers.customer_id = customer_orders.customer_id
),

-- Records without an order (the real orders are a sample) rank after those with one;
-- customer_id breaks the remaining ties so the choice is deterministic.
ranked as (
    select
        joined.*,
        row_number() over (
            partition by customer_unique_id
            order by last_purchased_at desc nulls last, customer_id desc
        ) as recency_rank
    from joined
),

final as (
    select
        customer_id,
        customer_unique_id,
        customer_zip_code_prefix,
        customer_city,
        customer_state,
        count_orders,
        last_purchased_at,
        recency_rank = 1 as is_current_record
    from ranked
)

select * from final
