-- grain: one row per purchase month and customer state (order_month, customer_state)
-- Orders that count towards revenue (is_revenue_order), placed by customers living in the state:
-- the state is the customer's current one (dim_customers), not the one of each order.
with

orders as (
    select * from {{ ref('fct_orders') }}
),

customers as (
    select * from {{ ref('dim_customers') }}
),

dates as (
    select * from {{ ref('dim_dates') }}
),

revenue_orders as (
    select
        dates.month_start_date as order_month,
        customers.state as customer_state,
        orders.order_id,
        orders.customer_unique_id,
        orders.items_price_brl,
        orders.items_freight_value_brl,
        orders.payment_value_brl
    from orders
    inner join customers
        on orders.customer_unique_id = customers.customer_unique_id
    inner join dates
        on orders.purchase_date_key = dates.date_key
    where {{ is_revenue_order('orders.order_status') }}
),

state_months as (
    select
        order_month,
        customer_state,
        count(*) as count_orders,
        count(distinct customer_unique_id) as count_customers,
        sum(items_price_brl) as revenue_brl,
        sum(items_freight_value_brl) as freight_value_brl,
        sum(payment_value_brl) as payment_value_brl
    from revenue_orders
    group by order_month, customer_state
),

final as (
    select
        order_month,
        customer_state,
        cast(count_orders as integer) as count_orders,
        cast(count_customers as integer) as count_customers,
        cast(revenue_brl as numeric(14, 2)) as revenue_brl,
        cast(freight_value_brl as numeric(14, 2)) as freight_value_brl,
        cast(payment_value_brl as numeric(14, 2)) as payment_value_brl,
        cast(payment_value_brl as double precision) / count_orders as average_order_value_brl,
        cast(revenue_brl as double precision)
        / nullif(cast(sum(revenue_brl) over (partition by order_month) as double precision), 0)
            as share_of_month_revenue
    from state_months
)

select * from final
