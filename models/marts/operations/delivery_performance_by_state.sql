-- grain: one row per customer state (customer_state)
-- Delivered orders only (those with a delivery timestamp), by the customer's current state.
-- Delay is measured in calendar days against the promised date: > 0 late, < 0 early.
with

orders as (
    select * from {{ ref('fct_orders') }}
),

customers as (
    select * from {{ ref('dim_customers') }}
),

states as (
    select * from {{ ref('brazilian_states') }}
),

delivered_orders as (
    select
        customers.state as customer_state,
        orders.order_id,
        orders.days_to_deliver,
        orders.days_promised,
        orders.days_delivered_after_estimate,
        orders.is_delivered_late,
        orders.review_score
    from orders
    inner join customers
        on orders.customer_unique_id = customers.customer_unique_id
    where orders.is_delivered
),

state_totals as (
    select
        customer_state,
        count(*) as count_delivered_orders,
        sum(case when is_delivered_late then 1 else 0 end) as count_late_orders,
        avg(days_to_deliver) as average_days_to_deliver,
        avg(days_promised) as average_days_promised,
        avg(cast(days_delivered_after_estimate as double precision))
            as average_days_delivered_after_estimate,
        avg(
            case
                when is_delivered_late
                    then cast(days_delivered_after_estimate as double precision)
            end
        ) as average_days_late_when_late,
        avg(
            case when not is_delivered_late then cast(review_score as double precision) end
        ) as average_review_score_on_time,
        avg(
            case when is_delivered_late then cast(review_score as double precision) end
        ) as average_review_score_late
    from delivered_orders
    group by customer_state
),

final as (
    select
        state_totals.customer_state,
        cast(states.state_name as {{ dbt.type_string() }}) as state_name,
        cast(states.region as {{ dbt.type_string() }}) as region,
        cast(state_totals.count_delivered_orders as integer) as count_delivered_orders,
        cast(state_totals.count_late_orders as integer) as count_late_orders,
        cast(state_totals.count_late_orders as double precision)
        / state_totals.count_delivered_orders as late_delivery_rate,
        cast(state_totals.average_days_to_deliver as double precision) as average_days_to_deliver,
        cast(state_totals.average_days_promised as double precision) as average_days_promised,
        state_totals.average_days_delivered_after_estimate,
        state_totals.average_days_late_when_late,
        state_totals.average_review_score_on_time,
        state_totals.average_review_score_late
    from state_totals
    left join states
        on state_totals.customer_state = states.state_code
)

select * from final
