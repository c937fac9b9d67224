-- Payments reconcile per order across layers: the staged payments, the order's payment total on
-- fct_orders, and the item allocations on fct_order_items (to the cent, no tolerance).
-- Orders without items keep their whole payment total unallocated.
-- Returns one row per order where any of these disagree.
with

staged_payments as (
    select
        order_id,
        sum(payment_value_brl) as payment_value_brl
    from {{ ref('stg_olist__order_payments') }}
    group by order_id
),

item_allocations as (
    select
        order_id,
        count(*) as count_items,
        sum(allocated_payment_brl) as allocated_payment_brl
    from {{ ref('fct_order_items') }}
    group by order_id
),

orders as (
    select * from {{ ref('fct_orders') }}
),

compared as (
    select
        orders.order_id,
        orders.payment_value_brl as order_payment_value_brl,
        coalesce(staged_payments.payment_value_brl, 0) as staged_payment_value_brl,
        orders.allocated_payment_brl as order_allocated_payment_brl,
        coalesce(item_allocations.allocated_payment_brl, 0) as items_allocated_payment_brl,
        orders.unallocated_payment_brl,
        coalesce(item_allocations.count_items, 0) as count_items
    from orders
    left join staged_payments
        on orders.order_id = staged_payments.order_id
    left join item_allocations
        on orders.order_id = item_allocations.order_id
)

select * from compared
where
    order_payment_value_brl <> staged_payment_value_brl
    or order_allocated_payment_brl <> items_allocated_payment_brl
    or (count_items > 0 and items_allocated_payment_brl <> order_payment_value_brl)
    or (count_items = 0 and unallocated_payment_brl <> order_payment_value_brl)
