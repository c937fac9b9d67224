{{ config(unique_key=['category_name'], dist='all') }}
-- grain: one row per Portuguese category name (the raw file's product_category_name)
with

source as (
    {{ latest_version(
        source('olist', 'product_category_name_translation'), ['product_category_name']
    ) }}
),

renamed as (
    select
        -- strings
        {{ clean_cast('product_category_name') }} as category_name,
        {{ clean_cast('product_category_name_english') }} as category_name_english,

        -- lineage
        _loaded_at,
        _load_id,
        _ingest_date
    from source
)

select * from renamed
