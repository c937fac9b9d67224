-- Where a model keeps the grain of its input, it keeps its row count: raw -> staging for the
-- keyed tables (one staging row per distinct key: daily drops append several versions of a key
-- to raw), staging -> core star for orders, items, products, sellers, and one dim_customers
-- row per distinct customer_unique_id. Returns one row per check whose counts differ.
{% set checks = [
    ('distinct raw orders keys -> stg_olist__orders',
        "select count(*) from (select distinct order_id from "
            ~ source('olist', 'orders') ~ ") as keys",
        "select count(*) from " ~ ref('stg_olist__orders')),
    ('distinct raw order_items keys -> stg_olist__order_items',
        "select count(*) from (select distinct order_id, order_item_id from "
            ~ source('olist', 'order_items') ~ ") as keys",
        "select count(*) from " ~ ref('stg_olist__order_items')),
    ('distinct raw order_payments keys -> stg_olist__order_payments',
        "select count(*) from (select distinct order_id, payment_sequential from "
            ~ source('olist', 'order_payments') ~ ") as keys",
        "select count(*) from " ~ ref('stg_olist__order_payments')),
    ('distinct raw customers keys -> stg_olist__customers',
        "select count(*) from (select distinct customer_id from "
            ~ source('olist', 'customers') ~ ") as keys",
        "select count(*) from " ~ ref('stg_olist__customers')),
    ('distinct raw products keys -> stg_olist__products',
        "select count(*) from (select distinct product_id from "
            ~ source('olist', 'products') ~ ") as keys",
        "select count(*) from " ~ ref('stg_olist__products')),
    ('distinct raw sellers keys -> stg_olist__sellers',
        "select count(*) from (select distinct seller_id from "
            ~ source('olist', 'sellers') ~ ") as keys",
        "select count(*) from " ~ ref('stg_olist__sellers')),
    ('raw geolocation rows -> sum of stg_olist__geolocations.count_source_rows',
        "select count(*) from " ~ source('olist', 'geolocation'),
        "select sum(count_source_rows) from " ~ ref('stg_olist__geolocations')),
    ('distinct raw translation keys -> stg_olist__product_category_translations',
        "select count(*) from (select distinct product_category_name from "
            ~ source('olist', 'product_category_name_translation') ~ ") as keys",
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
