{#
    The customers' current addresses (config and columns: customers_snapshot.yml). In a daily
    build, `olist daily` passes the snapshot's watermark (var daily_watermarks: its lineage
    column, `_loaded_at`, and the newest value it held before the build, olist_elt.daily.run):
    the snapshot then compares only the people with a row loaded since, instead of every
    person of the history. Hard deletes are ignored, so a person it does not read keeps their
    current row. Any other build (`dbt build`, a deploy, a table without a watermark) reads
    everyone.
#}
{% snapshot customers_snapshot %}
    {%- set watermark = var('daily_watermarks', {}).get('customers_snapshot') %}
    select * from {{ ref('int_customer_addresses_filtered_to_latest') }}
    {%- if watermark %}
        where {{ loaded_since_daily_watermark(watermark) }}
    {%- endif %}
{% endsnapshot %}
