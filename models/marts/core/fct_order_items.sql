-- grain: one row per order item (order_id, order_item_id)
with

order_items as (
    select * from {{ ref('stg_olist__order_items') }}
),

allocations as (
    select * from {{ ref('int_order_payments_allocated_to_items') }}
),

orders as (
    select * from {{ ref('int_orders_enriched_with_durations') }}
),

customer_ids as (
    select * from {{ ref('int_customer_ids_mapped_to_unique_customers') }}
),

reviews as (
    select * from {{ ref('int_order_reviews_deduplicated_to_orders') }}
),

final as (
    select
        {{ surrogate_key(['order_items.order_id', 'order_items.order_item_id']) }}
            as order_item_key,
        order_items.order_id,
        order_items.order_item_id,
        orders.customer_id,
        customer_ids.customer_unique_id,
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
        reviews.review_score
    from order_items
    inner join orders
        on order_items.order_id = orders.order_id
    inner join allocations
        on
            order_items.order_id = allocations.order_id
            and order_items.order_item_id = allocations.order_item_id
    inner join customer_ids
        on orders.customer_id = customer_ids.customer_id
    left join reviews
        on order_items.order_id = reviews.order_id
)

select * from final
