-- sqlfluff:exclude_rules:structure.column_order,references.consistent,layout.indent
{#
    The latest version of each key of an append-only raw table, as the body of a CTE of an
    incremental staging model with that key as its `unique_key`:

        {% set key_columns = ['order_id'] %}
        {{ config(unique_key=key_columns) }}
        ...
        source as (
            {{ latest_version(source('olist', 'orders'), key_columns) }}
        ),

    Daily drops (olist-load --drops) append a row each time a key is created or changed, so
    a raw table can hold several versions of a key. The latest is the one of the latest drop
    day (_ingest_date); rows of a full load have no drop day and count as older than any
    drop, so drops applied on top of a full load win. Then the latest load (_loaded_at,
    _load_id) breaks ties, then `tiebreakers` (raw column expressions with their direction)
    for a file that repeats a key within one load.

    Staging models are incremental tables (delete+insert on the key). An incremental run
    ranks every raw version of the keys that received a row since the table's watermark,
    and only those: a day's run reads the day's keys, not the whole history, and replaces
    each with the same row a full refresh would pick. "Since the watermark" is the rule the
    facts follow too (macros/incremental_watermark.sql): loaded after the newest load time
    on the table, or dropped within `incremental_lookback_days` of its newest drop date.
    Raw tables only grow between full loads, and olist-run rebuilds staging after a full
    load, so no key ever has to leave an incremental table.

    row_number() in a subquery: portable to DuckDB, PostgreSQL and Redshift (no qualify,
    no distinct on). The result keeps every raw column plus `_version_rank` (always 1).

    Except on PostgreSQL, which gets `distinct on` (same rows): its planner guesses that
    `where _version_rank = 1` keeps 0.5% of the rows, and on the real Olist set that guess
    chose nested loops that made fct_order_items take 18 minutes instead of about 1 s.
    It sizes `distinct on` by the number of keys instead, and keeps to hash joins.
#}
{% macro latest_version(relation, key_columns, tiebreakers=[]) %}
    {%- set keys = [] -%}
    {%- for column in key_columns %}{% do keys.append('versions.' ~ column) %}{% endfor -%}
    {%- set order_by = [
        "coalesce(_ingest_date, cast('1900-01-01' as date)) desc",
        "_loaded_at desc nulls last",
        "_load_id desc nulls last",
    ] + tiebreakers -%}
    {%- if target.type == 'postgres' %}
    select distinct on ({{ keys | join(', ') }})
        versions.*,
        cast(1 as bigint) as _version_rank
    from {{ relation }} as versions
    {{ join_keys_changed(relation, key_columns) }}
    order by {{ (keys + order_by) | join(', ') }}
    {%- else %}
    select *
    from (
        select
            versions.*,
            row_number() over (
                partition by {{ keys | join(', ') }}
                order by {{ order_by | join(', ') }}
            ) as _version_rank
        from {{ relation }} as versions
        {{ join_keys_changed(relation, key_columns) }}
    ) as ranked_versions
    where _version_rank = 1
    {%- endif %}
{%- endmacro %}


{#
    On an incremental run: keep the versions of keys with a raw row since the watermark.
    (A join clause on its own: sqlfluff cannot place its indentation, hence the
    file-level exclusion of LT02 on the first line; the models that call it are checked.)
#}
{% macro join_keys_changed(relation, key_columns) %}
    {%- if is_incremental() %}
        {%- set watermark = incremental_watermark() %}
        inner join (
            select distinct
            {%- for column in key_columns %}
                new_versions.{{ column }}{{ "," if not loop.last }}
            {%- endfor %}
            from {{ relation }} as new_versions
            where {{ since_watermark(
                watermark, 'new_versions._loaded_at', 'new_versions._ingest_date'
            ) }}
        ) as changed_keys
            on
            {%- for column in key_columns %}
                {% if not loop.first %}and {% endif -%}
                versions.{{ column }} = changed_keys.{{ column }}
            {%- endfor %}
    {%- endif %}
{%- endmacro %}
