{#
    The latest version of each key of an append-only raw table, as the body of a CTE:

        source as (
            {{ latest_version(source('olist', 'orders'), ['order_id']) }}
        ),

    Daily drops (olist-load --drops) append a row each time a key is created or changed, so
    a raw table can hold several versions of a key. The latest is the one of the latest drop
    day (_ingest_date); rows of a full load have no drop day and count as older than any
    drop, so drops applied on top of a full load win. Then the latest load (_loaded_at,
    _load_id) breaks ties, then `tiebreakers` (raw column expressions with their direction)
    for a file that repeats a key within one load.

    row_number() in a subquery: portable to DuckDB, PostgreSQL and Redshift (no qualify,
    no distinct on). The result keeps every raw column plus `_version_rank` (always 1).

    Except on PostgreSQL, which gets `distinct on` (same rows): its planner guesses that
    `where _version_rank = 1` keeps 0.5% of the rows, and on the real Olist set that guess
    chose nested loops that made fct_order_items take 18 minutes instead of about 1 s.
    It sizes `distinct on` by the number of keys instead, and keeps to hash joins.
#}
{% macro latest_version(relation, key_columns, tiebreakers=[]) %}
    {%- set order_by = [
        "coalesce(_ingest_date, cast('1900-01-01' as date)) desc",
        "_loaded_at desc nulls last",
        "_load_id desc nulls last",
    ] + tiebreakers -%}
    {%- if target.type == 'postgres' %}
    select distinct on ({{ key_columns | join(', ') }})
        versions.*,
        cast(1 as bigint) as _version_rank
    from {{ relation }} as versions
    order by {{ (key_columns + order_by) | join(', ') }}
    {%- else %}
    select *
    from (
        select
            versions.*,
            row_number() over (
                partition by {{ key_columns | join(', ') }}
                order by {{ order_by | join(', ') }}
            ) as _version_rank
        from {{ relation }} as versions
    ) as ranked_versions
    where _version_rank = 1
    {%- endif %}
{%- endmacro %}
