-- grain: one row per order
with

orders as (
    select * from {{ ref('int_orders_enriched_with_durations') }}
),

customer_ids as (
    select * from {{ ref('int_customer_ids_mapped_to_unique_customers') }}
),

payments as (
    select * from {{ ref('int_order_payments_summed_to_orders') }}
),

allocations as (
    select * from {{ ref('int_order_payments_allocated_to_items') }}
),

reviews as (
    select * from {{ ref('int_order_reviews_deduplicated_to_orders') }}
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
        customer_ids.customer_unique_id,
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
        coalesce(reviews.count_reviews, 0) as count_reviews
    from orders
    inner join customer_ids
        on orders.customer_id = customer_ids.customer_id
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
        cast(count_reviews as integer) as count_reviews
    from joined
)

select * from final
