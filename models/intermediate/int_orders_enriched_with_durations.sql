-- grain: one row per order
-- Lifecycle durations in fractional days from the purchase, and delivery against the promise.
-- Durations use the timestamps, not the status: a step without its timestamp gives null.
with

orders as (
    select * from {{ ref('stg_olist__orders') }}
),

final as (
    select
        order_id,
        customer_id,
        order_status,
        purchased_at,
        approved_at,
        delivered_to_carrier_at,
        delivered_to_customer_at,
        estimated_delivery_date,
        {{ fractional_days_between('purchased_at', 'approved_at') }} as days_to_approve,
        {{ fractional_days_between('purchased_at', 'delivered_to_carrier_at') }}
            as days_to_carrier,
        {{ fractional_days_between('delivered_to_carrier_at', 'delivered_to_customer_at') }}
            as days_carrier_to_customer,
        {{ fractional_days_between('purchased_at', 'delivered_to_customer_at') }}
            as days_to_deliver,
        {{ fractional_days_between('purchased_at', 'estimated_delivery_date') }}
            as days_promised,
        -- Whole calendar days between the promised date and the delivery date: > 0 is late.
        {{ dbt.datediff(
            'estimated_delivery_date',
            'cast(delivered_to_customer_at as date)',
            'day',
        ) }} as days_delivered_after_estimate,
        delivered_to_customer_at is not null as is_delivered,
        -- Late = delivered on a day after the promised date; delivering on that day is on time.
        -- Null while the order has no delivery timestamp.
        case
            when delivered_to_customer_at is null then null
            when cast(delivered_to_customer_at as date) > estimated_delivery_date then true
            else false
        end as is_delivered_late
    from orders
)

select * from final
