-- Price + freight and item counts per order are the same in staging, the allocation step,
-- fct_order_items and fct_orders. Returns one row per order where a layer disagrees.
with

staged as (
    select
        order_id,
        count(*) as count_items,
        sum(price_brl + freight_value_brl) as total_brl
    from {{ ref('stg_olist__order_items') }}
    group by order_id
),

allocated as (
    select
        order_id,
        count(*) as count_items,
        sum(price_brl + freight_value_brl) as total_brl
    from {{ ref('int_order_payments_allocated_to_items') }}
    group by order_id
),

fact_items as (
    select
        order_id,
        count(*) as count_items,
        sum(item_total_brl) as total_brl
    from {{ ref('fct_order_items') }}
    group by order_id
),

fact_orders as (
    select
        order_id,
        count_items,
        items_total_brl as total_brl
    from {{ ref('fct_orders') }}
    where count_items > 0
),

-- Every order with items on any layer (union all + distinct: Redshift has no `union distinct`).
all_orders as (
    select distinct order_id
    from (
        select order_id from staged
        union all
        select order_id from allocated
        union all
        select order_id from fact_items
        union all
        select order_id from fact_orders
    ) as order_ids
),

compared as (
    select
        all_orders.order_id,
        staged.count_items as staged_count_items,
        allocated.count_items as allocated_count_items,
        fact_items.count_items as fact_items_count_items,
        fact_orders.count_items as fact_orders_count_items,
        staged.total_brl as staged_total_brl,
        allocated.total_brl as allocated_total_brl,
        fact_items.total_brl as fact_items_total_brl,
        fact_orders.total_brl as fact_orders_total_brl
    from all_orders
    left join staged
        on all_orders.order_id = staged.order_id
    left join allocated
        on all_orders.order_id = allocated.order_id
    left join fact_items
        on all_orders.order_id = fact_items.order_id
    left join fact_orders
        on all_orders.order_id = fact_orders.order_id
)

select * from compared
where
    staged_total_brl is null
    or allocated_total_brl is null
    or fact_items_total_brl is null
    or fact_orders_total_brl is null
    or staged_count_items <> allocated_count_items
    or staged_count_items <> fact_items_count_items
    or staged_count_items <> fact_orders_count_items
    or staged_total_brl <> allocated_total_brl
    or staged_total_brl <> fact_items_total_brl
    or staged_total_brl <> fact_orders_total_brl
