-- dim_dates has no gap (one row per day between its first and last day) and covers every
-- purchase, promised and delivery date of the orders. Returns a row per failed check.
with

dates as (
    select * from {{ ref('dim_dates') }}
),

orders as (
    select * from {{ ref('stg_olist__orders') }}
),

span as (
    select
        count(*) as count_days,
        {{ dbt.datediff('min(date_day)', 'max(date_day)', 'day') }} + 1 as expected_count_days
    from dates
),

order_dates as (
    select distinct order_date
    from (
        select cast(purchased_at as date) as order_date from orders
        union all
        select estimated_delivery_date as order_date from orders
        union all
        select cast(delivered_to_customer_at as date) as order_date from orders
    ) as all_order_dates
),

uncovered as (
    select order_dates.order_date
    from order_dates
    left join dates
        on order_dates.order_date = dates.date_day
    where
        order_dates.order_date is not null
        and dates.date_day is null
),

failures as (
    select
        'gap in dim_dates' as failure,
        cast(null as date) as order_date
    from span
    where count_days <> expected_count_days
    union all
    select
        'order date missing from dim_dates' as failure,
        order_date
    from uncovered
)

select * from failures
