-- grain: one row per purchase month, payment type and installments bucket
-- (order_month, payment_type, installments_bucket).
-- An order is counted once, under the method that carried most of its value
-- (fct_orders.primary_payment_type) and the most installments any of its payments used;
-- its whole payment value goes with it. Orders without any payment are left out.
with

orders as (
    select * from {{ ref('fct_orders') }}
),

dates as (
    select * from {{ ref('dim_dates') }}
),

paid_orders as (
    select
        dates.month_start_date as order_month,
        orders.primary_payment_type as payment_type,
        orders.count_installments_max,
        orders.payment_value_brl
    from orders
    inner join dates
        on orders.purchase_date_key = dates.date_key
    where orders.count_payments > 0
),

-- Installments go from 0 (2 real payments, counted with single payments) to 24:
-- buckets a dashboard can sort.
bucketed as (
    select
        order_month,
        payment_type,
        case
            when count_installments_max <= 1 then 1
            when count_installments_max <= 3 then 2
            when count_installments_max <= 6 then 3
            when count_installments_max <= 10 then 4
            else 5
        end as installments_bucket_order,
        payment_value_brl
    from paid_orders
),

mix as (
    select
        order_month,
        payment_type,
        installments_bucket_order,
        count(*) as count_orders,
        sum(payment_value_brl) as payment_value_brl
    from bucketed
    group by order_month, payment_type, installments_bucket_order
),

final as (
    select
        order_month,
        payment_type,
        case installments_bucket_order
            when 1 then '1'
            when 2 then '2-3'
            when 3 then '4-6'
            when 4 then '7-10'
            else '11+'
        end as installments_bucket,
        cast(installments_bucket_order as integer) as installments_bucket_order,
        cast(count_orders as integer) as count_orders,
        cast(payment_value_brl as numeric(14, 2)) as payment_value_brl,
        cast(payment_value_brl as double precision) / count_orders as average_order_payment_brl,
        cast(count_orders as double precision)
        / cast(sum(count_orders) over (partition by order_month) as double precision)
            as share_of_month_orders,
        cast(payment_value_brl as double precision)
        / nullif(
            cast(sum(payment_value_brl) over (partition by order_month) as double precision), 0
        ) as share_of_month_payment_value
    from mix
)

select * from final
