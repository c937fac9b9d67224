-- grain: one row per seller that sold at least one order item (seller_id)
-- Revenue counts items of orders that count towards revenue (is_revenue_order). Delivery and
-- review figures are per order, not per item: an order with three items of the seller
-- counts once.
with

order_items as (
    select * from {{ ref('fct_order_items') }}
),

sellers as (
    select * from {{ ref('dim_sellers') }}
),

seller_orders as (
    select
        seller_id,
        order_id,
        min(purchased_at) as purchased_at,
        count(*) as count_order_items,
        sum(
            case when {{ is_revenue_order('order_status') }} then price_brl else 0 end
        ) as revenue_brl,
        sum(
            case when {{ is_revenue_order('order_status') }} then freight_value_brl else 0 end
        ) as freight_value_brl,
        -- Order-level facts repeat on each item of the order: any item carries them.
        max(days_to_deliver) as days_to_deliver,
        max(case when is_delivered_late then 1 else 0 end) as is_late,
        max(case when is_delivered_late is not null then 1 else 0 end) as is_delivered,
        max(review_score) as review_score
    from order_items
    group by seller_id, order_id
),

seller_totals as (
    select
        seller_id,
        min(purchased_at) as first_order_at,
        max(purchased_at) as last_order_at,
        count(*) as count_orders,
        sum(count_order_items) as count_order_items,
        sum(revenue_brl) as revenue_brl,
        sum(freight_value_brl) as freight_value_brl,
        sum(is_delivered) as count_delivered_orders,
        sum(is_late) as count_late_orders,
        avg(cast(days_to_deliver as double precision)) as average_days_to_deliver,
        count(review_score) as count_reviewed_orders,
        avg(cast(review_score as double precision)) as average_review_score
    from seller_orders
    group by seller_id
),

final as (
    select
        seller_totals.seller_id,
        sellers.city as seller_city,
        sellers.state as seller_state,
        seller_totals.first_order_at,
        seller_totals.last_order_at,
        cast(seller_totals.count_orders as integer) as count_orders,
        cast(seller_totals.count_order_items as integer) as count_order_items,
        cast(seller_totals.revenue_brl as numeric(14, 2)) as revenue_brl,
        cast(seller_totals.freight_value_brl as numeric(14, 2)) as freight_value_brl,
        cast(seller_totals.count_delivered_orders as integer) as count_delivered_orders,
        cast(seller_totals.count_late_orders as integer) as count_late_orders,
        1 - cast(seller_totals.count_late_orders as double precision)
        / nullif(seller_totals.count_delivered_orders, 0) as on_time_delivery_rate,
        seller_totals.average_days_to_deliver,
        cast(seller_totals.count_reviewed_orders as integer) as count_reviewed_orders,
        seller_totals.average_review_score
    from seller_totals
    inner join sellers
        on seller_totals.seller_id = sellers.seller_id
)

select * from final
