{% set key_columns = ['order_id', 'order_item_id'] %}
{{ config(unique_key=key_columns, dist='order_id') }}
-- grain: one row per order item (order_id, order_item_id)
with

source as (
    {{ latest_version(source('olist', 'order_items'), key_columns) }}
),

renamed as (
    select
        -- ids
        {{ clean_cast('order_id') }} as order_id,
        {{ clean_cast('order_item_id', 'integer') }} as order_item_id,
        {{ clean_cast('product_id') }} as product_id,
        {{ clean_cast('seller_id') }} as seller_id,

        -- numerics
        {{ clean_cast('price', 'money') }} as price_brl,
        {{ clean_cast('freight_value', 'money') }} as freight_value_brl,

        -- timestamps
        {{ clean_cast('shipping_limit_date', 'timestamp') }} as shipping_limit_at,

        -- lineage
        _loaded_at,
        _load_id,
        _ingest_date
    from source
)

select * from renamed
