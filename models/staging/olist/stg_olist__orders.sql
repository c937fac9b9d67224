{% set key_columns = ['order_id'] %}
{{ config(unique_key=key_columns, dist='order_id') }}
-- grain: one row per order
with

source as (
    {{ latest_version(source('olist', 'orders'), key_columns) }}
),

renamed as (
    select
        -- ids
        {{ clean_cast('order_id') }} as order_id,
        {{ clean_cast('customer_id') }} as customer_id,

        -- strings
        {{ clean_cast('order_status') }} as order_status,

        -- dates and timestamps
        {{ clean_cast('order_purchase_timestamp', 'timestamp') }} as purchased_at,
        {{ clean_cast('order_approved_at', 'timestamp') }} as approved_at,
        {{ clean_cast('order_delivered_carrier_date', 'timestamp') }} as delivered_to_carrier_at,
        {{ clean_cast('order_delivered_customer_date', 'timestamp') }} as delivered_to_customer_at,
        {{ clean_cast('order_estimated_delivery_date', 'date') }} as estimated_delivery_date,

        -- lineage
        _loaded_at,
        _load_id,
        _ingest_date
    from source
)

select * from renamed
