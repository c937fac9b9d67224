{#
    The models incremental by person (int_customer_addresses_collapsed_to_periods,
    dim_customers) recompute a person when one of their customer records is new since the
    model's watermark, or an order of one of those records is: a query of their
    `customer_unique_id`. `customers` and `orders` are the staging relations, `watermark`
    what incremental_watermark returned (macros/incremental_watermark.sql).
#}
{% macro people_with_new_records_or_orders(customers, orders, watermark) %}
    {{ keys_since_watermark(customers, 'customer_unique_id', watermark) }}
    union
    {{ keys_referencing_new_rows(
        customers, 'customer_unique_id', 'customer_id', orders, watermark
    ) }}
{%- endmacro %}
