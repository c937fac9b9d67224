-- grain: one row per product
with

products as (
    select * from {{ ref('stg_olist__products') }}
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
            as product_volume_cm3
    from products
    left join translations
        on products.category_name = translations.category_name
)

select * from final
