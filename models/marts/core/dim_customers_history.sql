{{ config(
    materialized='incremental',
    unique_key='customer_unique_id',
    incremental_strategy='delete+insert',
    on_schema_change='fail',
) }}
-- grain: one row per customer and address period (customer_unique_id, valid_from)
-- Type 2 history of the customers' addresses: a row per period a person lived at one address,
-- valid from the purchase time of the order that revealed the address (inclusive) to the
-- start of the next period (exclusive); valid_to is null on the current row.
-- Facts join it point in time: valid_from <= purchased_at < coalesce(valid_to, forever).
-- Incremental by person: a run replaces all the periods of every person whose address
-- periods were recomputed since the table's watermark (macros/incremental_watermark.sql).
with

{% if is_incremental() %}
    {%- set watermark = incremental_watermark('_source_loaded_at', '_source_ingest_date') %}

    changed_people as (
        {{ keys_since_watermark(
            ref('int_customer_addresses_collapsed_to_periods'), 'customer_unique_id', watermark
        ) }}
    ),
{% endif %}

address_periods as (
    select * from {{ ref('int_customer_addresses_collapsed_to_periods') }}
    {%- if is_incremental() %}
        where
            customer_unique_id in (select changed_people.customer_unique_id from changed_people)
    {%- endif %}
),

final as (
    select
        {{ surrogate_key(['customer_unique_id', 'valid_from']) }} as customer_history_key,
        customer_unique_id,
        zip_code_prefix,
        city,
        state,  -- noqa: RF04
        valid_from,
        valid_to,
        valid_to is null as is_current,
        revealed_by_customer_id,
        revealed_by_order_id,
        _loaded_at as _source_loaded_at,
        _ingest_date as _source_ingest_date
    from address_periods
)

select * from final
