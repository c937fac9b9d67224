{#
    What an incremental table has already seen, as a one-row query: the newest load time
    on it (`loaded_at`) and the first drop date still inside the lookback window
    (`lookback_start_date`: its newest drop date minus var incremental_lookback_days).
    A run treats as new every source row loaded after the first or dropped on or after the
    second (since_watermark). Used by every incremental model (the staging tables through
    latest_version, the intermediate tables, dim_customers_history, the facts through
    incremental_orders), each with the names of its own lineage columns.
#}
{% macro incremental_watermark(loaded_at='_loaded_at', ingest_date='_ingest_date') %}
    select
        -- an empty table has seen nothing: everything counts as new
        coalesce(
            max({{ loaded_at }}), cast('1900-01-01 00:00:00' as timestamp)
        ) as loaded_at,
        cast(
            {{ dbt.dateadd(
                'day',
                -1 * var('incremental_lookback_days'),
                "coalesce(max(" ~ ingest_date ~ "), cast('1900-01-01' as date))",
            ) }} as date
        ) as lookback_start_date
    from {{ this }}
{% endmacro %}


{# A row counts as new: its lineage columns against the CTE or subquery `watermark`. #}
{% macro since_watermark(loaded_at='_loaded_at', ingest_date='_ingest_date') %}
    ({{ loaded_at }} > watermark.loaded_at or {{ ingest_date }} >= watermark.lookback_start_date)
{%- endmacro %}


{# The order_id of every row of `relation` (a relation or CTE) new since the CTE `watermark`. #}
{% macro order_ids_since_watermark(relation) %}
    select new_rows.order_id
    from {{ relation }} as new_rows
    cross join watermark
    where {{ since_watermark('new_rows._loaded_at', 'new_rows._ingest_date') }}
{%- endmacro %}


{#
    In an import CTE of a model incremental by whole orders: on an incremental run, keep
    only the orders of the model's CTE `changed_orders`.
#}
{% macro where_order_changed(column='order_id') %}
    {%- if is_incremental() %}
    where {{ column }} in (select changed_orders.order_id from changed_orders)
    {%- endif %}
{% endmacro %}
