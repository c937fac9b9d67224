-- Where a model keeps the grain of its input, it keeps its row count: raw -> staging for the
-- keyed tables, staging -> core star for orders, items, products, sellers, and one dim_customers
-- row per distinct customer_unique_id. Returns one row per check whose counts differ.
{% set checks = [
    ('raw orders -> stg_olist__orders',
        "select count(*) from " ~ source('olist', 'orders'),
        "select count(*) from " ~ ref('stg_olist__orders')),
    ('raw order_items -> stg_olist__order_items',
        "select count(*) from " ~ source('olist', 'order_items'),
        "select count(*) from " ~ ref('stg_olist__order_items')),
    ('raw order_payments -> stg_olist__order_payments',
        "select count(*) from " ~ source('olist', 'order_payments'),
        "select count(*) from " ~ ref('stg_olist__order_payments')),
    ('raw customers -> stg_olist__customers',
        "select count(*) from " ~ source('olist', 'customers'),
        "select count(*) from " ~ ref('stg_olist__customers')),
    ('raw products -> stg_olist__products',
        "select count(*) from " ~ source('olist', 'products'),
        "select count(*) from " ~ ref('stg_olist__products')),
    ('raw sellers -> stg_olist__sellers',
        "select count(*) from " ~ source('olist', 'sellers'),
        "select count(*) from " ~ ref('stg_olist__sellers')),
    ('raw geolocation rows -> sum of stg_olist__geolocations.count_source_rows',
        "select count(*) from " ~ source('olist', 'geolocation'),
        "select sum(count_source_rows) from " ~ ref('stg_olist__geolocations')),
    ('raw translations -> stg_olist__product_category_translations',
        "select count(*) from " ~ source('olist', 'product_category_name_translation'),
        "select count(*) from " ~ ref('stg_olist__product_category_translations')),
    ('distinct raw (review_id, order_id) -> stg_olist__order_reviews',
        "select count(*) from (select distinct review_id, order_id from "
            ~ source('olist', 'order_reviews') ~ ") as pairs",
        "select count(*) from " ~ ref('stg_olist__order_reviews')),
    ('stg_olist__orders -> fct_orders',
        "select count(*) from " ~ ref('stg_olist__orders'),
        "select count(*) from " ~ ref('fct_orders')),
    ('stg_olist__order_items -> fct_order_items',
        "select count(*) from " ~ ref('stg_olist__order_items'),
        "select count(*) from " ~ ref('fct_order_items')),
    ('stg_olist__products -> dim_products',
        "select count(*) from " ~ ref('stg_olist__products'),
        "select count(*) from " ~ ref('dim_products')),
    ('stg_olist__sellers -> dim_sellers',
        "select count(*) from " ~ ref('stg_olist__sellers'),
        "select count(*) from " ~ ref('dim_sellers')),
    ('distinct customer_unique_id -> dim_customers',
        "select count(distinct customer_unique_id) from " ~ ref('stg_olist__customers'),
        "select count(*) from " ~ ref('dim_customers')),
] %}

with

counts as (
    {% for check_name, expected_sql, actual_sql in checks %}
        select
            '{{ check_name }}' as check_name,
            ({{ expected_sql }}) as expected_count,
            ({{ actual_sql }}) as actual_count
        {% if not loop.last %}union all{% endif %}
    {% endfor %}
)

select * from counts
where expected_count <> actual_count
