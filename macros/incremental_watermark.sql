{#
    The watermark rule of every incremental model (the staging tables through
    latest_version, the intermediate tables, dim_customers_history, dim_customers, the facts
    through macros/marts/incremental_orders.sql, the incremental business marts through
    macros/marts/incremental_groups.sql).

    What an incremental table has already seen is a one-row query over the table itself
    (incremental_watermark): the newest load time on it (`loaded_at`) and the first drop
    date still inside the lookback window (`lookback_start_date`: its newest drop date minus
    var incremental_lookback_days). A run treats as new every source row loaded after the
    first or dropped on or after the second (since_watermark).

    The model names its watermark: it defines a CTE holding incremental_watermark, with the
    names of its own lineage columns, and passes that CTE's name to the macros below, so
    the table is read once however many sources a run compares with it:

        watermark as (
            {{ incremental_watermark('_source_loaded_at', '_source_ingest_date') }}
        ),

        changed_orders as (
            {{ keys_since_watermark(ref('stg_olist__order_items'), 'order_id', 'watermark') }}
        ),

        order_items as (
            select * from {{ ref('stg_olist__order_items') }}
            {{ where_changed('order_id', 'changed_orders') }}
        ),
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


{#
    A row counts as new: its lineage columns (`loaded_at`, `ingest_date`: column expressions)
    against `watermark`, the name of a one-row CTE or subquery holding incremental_watermark,
    which the query must have in its from clause.
#}
{% macro since_watermark(watermark, loaded_at='_loaded_at', ingest_date='_ingest_date') %}
    (
        {{ loaded_at }} > {{ watermark }}.loaded_at
        or {{ ingest_date }} >= {{ watermark }}.lookback_start_date
    )
{%- endmacro %}


{#
    The `key` of every row of `relation` (a relation or CTE) new since `watermark` (the name
    of a CTE holding incremental_watermark), as a query: one row per new source row, so a
    caller that needs each key once uses `union` or `in`.
#}
{% macro keys_since_watermark(
    relation, key, watermark, loaded_at='_loaded_at', ingest_date='_ingest_date'
) %}
    select new_rows.{{ key }}
    from {{ relation }} as new_rows
    cross join {{ watermark }}
    where {{ since_watermark(watermark, 'new_rows.' ~ loaded_at, 'new_rows.' ~ ingest_date) }}
{%- endmacro %}


{#
    In an import CTE of a model incremental by key: on an incremental run, keep only the rows
    whose `column` is one of the keys of `changed` (a CTE or relation; its key column is
    named `key`, by default the column's name without its table). A full build keeps every row.
#}
{% macro where_changed(column, changed, key=none) %}
    {%- if is_incremental() %}
    where {{ column }} in (
        select {{ changed }}.{{ key or column.split('.')[-1] }} from {{ changed }}
    )
    {%- endif %}
{% endmacro %}
