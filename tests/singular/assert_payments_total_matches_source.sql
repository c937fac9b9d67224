-- The grand total of payments survives from the raw table to fct_orders, and every staged
-- payment belongs to an order of fct_orders. Returns a row when the totals differ.
with

raw_total as (
    select sum(cast(payment_value as numeric(12, 2))) as total_brl
    from {{ source('olist', 'order_payments') }}
),

mart_total as (
    select sum(payment_value_brl) as total_brl
    from {{ ref('fct_orders') }}
),

compared as (
    select
        raw_total.total_brl as raw_total_brl,
        mart_total.total_brl as mart_total_brl
    from raw_total
    cross join mart_total
)

select * from compared
where coalesce(raw_total_brl, 0) <> coalesce(mart_total_brl, 0)
