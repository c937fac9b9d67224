{% set key_columns = ['product_id'] %}
{{ config(unique_key=key_columns, dist='all') }}
-- grain: one row per product
with

source as (
    {{ latest_version(source('olist', 'products'), key_columns) }}
),

renamed as (
    select
        -- ids
        {{ clean_cast('product_id') }} as product_id,

        -- strings
        {{ clean_cast('product_category_name') }} as category_name,

        -- numerics (the source headers misspell "length" as "lenght")
        {{ clean_cast('product_name_lenght', 'integer') }} as product_name_length,
        {{ clean_cast('product_description_lenght', 'integer') }} as product_description_length,
        {{ clean_cast('product_photos_qty', 'integer') }} as count_photos,
        {{ clean_cast('product_weight_g', 'integer') }} as product_weight_g,
        {{ clean_cast('product_length_cm', 'integer') }} as product_length_cm,
        {{ clean_cast('product_height_cm', 'integer') }} as product_height_cm,
        {{ clean_cast('product_width_cm', 'integer') }} as product_width_cm,

        -- lineage
        _loaded_at,
        _load_id,
        _ingest_date
    from source
)

select * from renamed
