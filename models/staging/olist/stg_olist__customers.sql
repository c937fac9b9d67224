{% set key_columns = ['customer_id'] %}
{{ config(unique_key=key_columns, dist='customer_id') }}
-- grain: one row per customer_id (one per order; customer_unique_id identifies the person)
with

source as (
    {{ latest_version(source('olist', 'customers'), key_columns) }}
),

renamed as (
    select
        -- ids
        {{ clean_cast('customer_id') }} as customer_id,
        {{ clean_cast('customer_unique_id') }} as customer_unique_id,

        -- strings
        {{ clean_cast('customer_zip_code_prefix') }} as customer_zip_code_prefix,
        {{ clean_cast('customer_city') }} as customer_city,
        {{ clean_cast('customer_state') }} as customer_state,

        -- lineage
        _loaded_at,
        _load_id,
        _ingest_date
    from source
)

select * from renamed
