{{ config(
    materialized='incremental',
    unique_key='product_id',
    incremental_strategy='delete+insert',
    on_schema_change='fail',
) }}
-- grain: one row per product
-- Incremental by product: a run recomputes the products with a product row since the table's
-- watermark, and every product of a category whose translation row is since it
-- (macros/incremental_watermark.sql), and replaces their rows. As a table, every day with a
-- product file would rebuild every product of the history.
with

{% if is_incremental() %}
    {%- set watermark = incremental_watermark('_source_loaded_at', '_source_ingest_date') %}

    changed_products as (
        {{ keys_since_watermark(ref('stg_olist__products'), 'product_id', watermark) }}
        union
        {{ keys_referencing_new_rows(
            ref('stg_olist__products'),
            'product_id',
            'category_name',
            ref('stg_olist__product_category_translations'),
            watermark,
        ) }}
    ),
{% endif %}

products as (
    select * from {{ ref('stg_olist__products') }}
    {{ where_changed('product_id', 'changed_products') }}
),

translations as (
    select * from {{ ref('stg_olist__product_category_translations') }}
),

final as (
    select
        products.product_id,
        products.category_name,
        -- Fallback: a category missing from the translation file keeps its Portuguese name
        -- (2 real categories); a product without category is 'unknown' (610 real products).
        coalesce(
            translations.category_name_english,
            products.category_name,
            'unknown'
        ) as category_name_english,
        products.category_name is not null as has_category,
        translations.category_name_english is not null as is_category_translated,
        products.product_name_length,
        products.product_description_length,
        products.count_photos,
        products.product_weight_g,
        products.product_length_cm,
        products.product_height_cm,
        products.product_width_cm,
        products.product_length_cm * products.product_height_cm * products.product_width_cm
            as product_volume_cm3,
        -- lineage: the newest of the product's row and its category's translation
        -- (greatest() ignores nulls on the three engines)
        greatest(products._loaded_at, translations._loaded_at) as _source_loaded_at,
        greatest(products._ingest_date, translations._ingest_date) as _source_ingest_date
    from products
    left join translations
        on products.category_name = translations.category_name
)

select * from final
