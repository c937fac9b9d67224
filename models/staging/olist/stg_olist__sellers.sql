{% set key_columns = ['seller_id'] %}
{{ config(unique_key=key_columns, dist='all') }}
-- grain: one row per seller
with

source as (
    {{ latest_version(source('olist', 'sellers'), key_columns) }}
),

renamed as (
    select
        -- ids
        {{ clean_cast('seller_id') }} as seller_id,

        -- strings
        {{ clean_cast('seller_zip_code_prefix') }} as seller_zip_code_prefix,
        {{ clean_cast('seller_city') }} as seller_city,
        {{ clean_cast('seller_state') }} as seller_state,

        -- lineage
        _loaded_at,
        _load_id,
        _ingest_date
    from source
)

select * from renamed
