{#
    The watermark rule of every incremental model (the staging tables through
    latest_version, the intermediate tables, dim_customers_history, dim_customers, the facts
    through macros/marts/incremental_orders.sql, customer_360).

    What an incremental table has already seen (incremental_watermark): the newest load time
    on it (`loaded_at`) and the first drop date still inside the lookback window
    (`lookback_start_date`: its newest drop date minus var incremental_lookback_days). A run
    treats as new every source row loaded after the first or dropped on or after the second
    (since_watermark).

    The model reads its watermark once, with the names of its own lineage columns, and passes
    it to the macros below:

        {%- set watermark = incremental_watermark('_source_loaded_at', '_source_ingest_date') %}

        changed_orders as (
            {{ keys_since_watermark(ref('stg_olist__order_items'), 'order_id', watermark) }}
        ),

        order_items as (
            select * from {{ ref('stg_olist__order_items') }}
            {{ where_changed('order_id', 'changed_orders') }}
        ),
#}


{#
    The table's watermark, as two SQL expressions: `loaded_at` and `lookback_start_date`.

    On a run, over literals read from the table by one query before the model's own: each row
    is compared with constants, where a value from a subquery had to be joined in first, and
    the warehouse plans the model's query knowing them. The literals are the values as text
    from the warehouse, so no precision is lost on the way, and the read is plain enough for
    every adapter. DuckDB applies the `or` of since_watermark's two comparisons to the rows a
    scan returns, not inside the scan, so it skips no row group; two scans joined by `union`
    would, but the planner then expects so many changed keys that it turns the semi-joins of
    the import CTEs around, building hash tables of whole inputs, which costs more than the
    scans save. In a unit test (`this` is then a fixture of the same query: nothing to read
    beforehand), while dbt parses and under the linter, scalar subqueries over `this` say the
    same.
#}
{% macro incremental_watermark(loaded_at='_loaded_at', ingest_date='_ingest_date') %}
    {#- an empty table has seen nothing: everything counts as new #}
    {%- set newest_loaded_at -%}
        coalesce(max({{ loaded_at }}), cast('1900-01-01 00:00:00' as timestamp))
    {%- endset %}
    {%- set newest_ingest_date -%}
        coalesce(max({{ ingest_date }}), cast('1900-01-01' as date))
    {%- endset %}
    {%- if execute and model is defined and model.resource_type != 'unit_test' %}
        {%- set read -%}
            select
                cast({{ newest_loaded_at }} as {{ dbt.type_string() }}) as loaded_at,
                cast({{ newest_ingest_date }} as {{ dbt.type_string() }}) as ingest_date
            from {{ this }}
        {%- endset %}
        {%- set newest = run_query(read).rows[0] %}
        {%- set newest_loaded_at = "cast('" ~ newest[0] ~ "' as timestamp)" %}
        {%- set newest_ingest_date = "cast('" ~ newest[1] ~ "' as date)" %}
    {%- else %}
        {%- set newest_loaded_at = "(select " ~ newest_loaded_at ~ " from " ~ this ~ ")" %}
        {%- set newest_ingest_date = "(select " ~ newest_ingest_date ~ " from " ~ this ~ ")" %}
    {%- endif %}
    {%- set lookback_start_date = dbt.dateadd(
        'day', -1 * var('incremental_lookback_days'), newest_ingest_date
    ) %}
    {{ return({
        'loaded_at': newest_loaded_at,
        'lookback_start_date': 'cast(' ~ lookback_start_date ~ ' as date)',
    }) }}
{% endmacro %}


{#
    A row counts as new: its lineage columns (`loaded_at`, `ingest_date`: column expressions)
    against `watermark`, what incremental_watermark returned.
#}
{% macro since_watermark(watermark, loaded_at='_loaded_at', ingest_date='_ingest_date') %}
    (
        {{ loaded_at }} > {{ watermark.loaded_at }}
        or {{ ingest_date }} >= {{ watermark.lookback_start_date }}
    )
{%- endmacro %}


{#
    The `key` of every row of `relation` (a relation or CTE) new since `watermark` (what
    incremental_watermark returned), as a query: one row per new source row, so a caller that
    needs each key once uses `union` or `in`.
#}
{% macro keys_since_watermark(
    relation, key, watermark, loaded_at='_loaded_at', ingest_date='_ingest_date'
) %}
    select new_rows.{{ key }}
    from {{ relation }} as new_rows
    where {{ since_watermark(watermark, 'new_rows.' ~ loaded_at, 'new_rows.' ~ ingest_date) }}
{%- endmacro %}


{#
    The `key` of every row of `relation` whose `column` holds the key of a row of `referenced`
    new since `watermark`, as a query (`referenced_column`: that key's name in `referenced`,
    by default `column`): e.g. the people of the customer records with a new order.
#}
{% macro keys_referencing_new_rows(
    relation, key, column, referenced, watermark, referenced_column=none
) %}
    select referencing_rows.{{ key }}
    from {{ relation }} as referencing_rows
    where
        referencing_rows.{{ column }} in (
            {{ keys_since_watermark(referenced, referenced_column or column, watermark) }}
        )
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
