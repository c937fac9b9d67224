{% set key_columns = ['order_id', 'payment_sequential'] %}
{{ config(unique_key=key_columns, dist='order_id') }}
-- grain: one row per payment (order_id, payment_sequential)
with

source as (
    {{ latest_version(source('olist', 'order_payments'), key_columns) }}
),

renamed as (
    select
        -- ids
        {{ clean_cast('order_id') }} as order_id,
        {{ clean_cast('payment_sequential', 'integer') }} as payment_sequential,

        -- strings
        {{ clean_cast('payment_type') }} as payment_type,

        -- numerics
        {{ clean_cast('payment_installments', 'integer') }} as count_installments,
        {{ clean_cast('payment_value', 'money') }} as payment_value_brl,

        -- lineage
        _loaded_at,
        _load_id,
        _ingest_date
    from source
)

select * from renamed
