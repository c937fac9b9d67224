{{ config(unique_key='order_id', dist='order_id') }}
-- grain: one row per order that has at least one payment
-- Incremental by whole orders: a run recomputes the orders with a payment row since the
-- table's watermark (macros/incremental_watermark.sql), so the daily facts read a day's
-- orders here instead of summing every payment again.
with

{% if is_incremental() %}
    {%- set watermark = incremental_watermark() %}

    changed_orders as (
        {{ keys_since_watermark(ref('stg_olist__order_payments'), 'order_id', watermark) }}
    ),
{% endif %}

payments as (
    select * from {{ ref('stg_olist__order_payments') }}
    {{ where_changed('order_id', 'changed_orders') }}
),

-- The method carrying most of the order's value; ties go to the method used first.
payment_types_ranked as (
    select
        order_id,
        payment_type,
        row_number() over (
            partition by order_id
            order by sum(payment_value_brl) desc, min(payment_sequential) asc
        ) as type_rank
    from payments
    group by order_id, payment_type
),

summed as (
    select
        order_id,
        count(*) as count_payments,
        count(distinct payment_type) as count_payment_types,
        max(count_installments) as count_installments_max,
        cast(sum(payment_value_brl) as numeric(12, 2)) as payment_value_brl,
        max(_loaded_at) as _loaded_at,
        max(_ingest_date) as _ingest_date
    from payments
    group by order_id
),

final as (
    select
        summed.order_id,
        payment_types_ranked.payment_type as primary_payment_type,
        summed.count_payments,
        summed.count_payment_types,
        summed.count_installments_max,
        summed.payment_value_brl,
        summed._loaded_at,
        summed._ingest_date
    from summed
    inner join payment_types_ranked
        on
            summed.order_id = payment_types_ranked.order_id
            and payment_types_ranked.type_rank = 1
)

select * from final
