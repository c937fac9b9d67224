-- sqlfluff:exclude_rules:layout.indent
{#
    The rows a daily build's data tests read. `olist daily` passes var `daily_watermarks`:
    for each incremental table it updates, its lineage column (`column`: `_source_loaded_at`,
    else `_loaded_at`) and the newest load time in it before the build (`loaded_at`), see
    olist_elt.daily.run. Every row the build writes derives from rows loaded after it, or lies
    within the lookback window and was built and tested before, so a generic test declared on
    such a table reads the rows of the day instead of the whole history:

    - the day's rows: lineage column after the watermark, and, on a table whose run
      recomputes all the rows of a changed person (meta `recomputed_by_person`: the facts
      and the orders' lineage), every row of the people who have one, whatever its own
      lineage;
    - a test across rows (unique, unique_combination_of_columns,
      valid_intervals_are_contiguous) reads every row, old or new, that shares its key
      (`column_name`, the first of `combination_of_columns`, or `partition_by`) with one
      of the day's rows, so a new row that repeats an old key still fails; except a unique
      test over columns that include the key of a delete+insert table, which reads the day's
      rows: the run has deleted every old row of the keys it wrote;
    - a test row by row (relationships, not_null, accepted_values, ...) reads the day's rows;
    - any other test (row counts and sums across tables) reads the whole table, as do the
      tests of a table without a watermark (new or empty) and every test of `dbt build` and
      of a deploy or full refresh (no var). With --all-tests, a daily run's tests of every
      kind follow these rules.

    A `where` config still applies, on top. Overrides dbt's global macro of the same name.
    (The queries are assembled in pieces whose indentation sqlfluff cannot place: hence the
    file-level exclusion of LT02 on the first line; the tests that call them are checked.)
#}
{% macro get_where_subquery(relation) -%}
    {%- set where = config.get('where') -%}
    {%- set watermarks = var('daily_watermarks', {}) if execute else {} -%}
    {%- set tested = graph.nodes.get(model.get('attached_node') or '') if execute else none -%}
    {%- set watermark = watermarks.get(tested.name) if tested else none -%}
    {%- set rows = daily_test_rows(relation, watermark, tested) if watermark else none -%}
    {%- if rows is none and not where -%}
        {{ return(relation) }}
    {%- endif -%}
    {%- set filtered -%}
        (
            select * from {{ rows if rows is not none else relation }} as tested_rows
            where {{ where or 'true' }}
        ) as dbt_subquery
    {%- endset -%}
    {{ return(filtered) }}
{%- endmacro %}


{#
    The rows of `relation` the current test must read for loads since `watermark` (the
    table's entry of var daily_watermarks), as a parenthesised query, or none for the whole
    table: see get_where_subquery. Each part is a plain filter or an `in` on one column: an
    `or` across them would make the warehouse compare every row of the history with the
    day's keys.
#}
{% macro daily_test_rows(relation, watermark, tested) -%}
    {%- set cross_row = {
        'unique': 'column_name',
        'unique_combination_of_columns': 'combination_of_columns',
        'valid_intervals_are_contiguous': 'partition_by',
    } -%}
    {%- set row_by_row = [
        'relationships', 'not_null', 'accepted_values', 'accepted_range', 'expression_is_true',
    ] -%}
    {%- set test = model.get('test_metadata') or {} -%}
    {%- if test.get('name') not in (cross_row.keys() | list) + row_by_row -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set new_since = loaded_since_daily_watermark(watermark) -%}
    {#- A table whose run recomputes every row of a changed person (meta
        recomputed_by_person) may rewrite rows whose own lineage is old: their people's. -#}
    {%- set by_person = (tested.config.get('meta') or {}).get('recomputed_by_person') -%}
    {%- set day_rows -%}
        (
            select * from {{ relation }}
            where {{ new_since }}
            {%- if by_person %}
            union all
            select * from {{ relation }}
            where
                not {{ new_since }}
                and customer_unique_id in (
                    select people.customer_unique_id from {{ relation }} as people
                    where people.{{ new_since }}
                )
            {%- endif %}
        )
    {%- endset -%}
    {%- if test.name in row_by_row -%}
        {{ return(day_rows) }}
    {%- endif -%}
    {%- set keys = test.kwargs.get(cross_row[test.name]) -%}
    {%- set keys = [keys] if keys is string else keys -%}
    {#- Unique over columns that include the key of a delete+insert table: a run deletes the
        old rows of every key it writes, so only the rows it wrote can repeat one. -#}
    {%- set unique_key = tested.config.get('unique_key') -%}
    {%- set unique_key = [unique_key] if unique_key is string else unique_key or [] -%}
    {%- if test.name != 'valid_intervals_are_contiguous'
        and tested.config.get('incremental_strategy') == 'delete+insert'
        and unique_key and not unique_key | reject('in', keys) | list -%}
        {{ return(day_rows) }}
    {%- endif -%}
    {%- set key = keys[0] -%}
    {%- if not modules.re.fullmatch('[A-Za-z_][A-Za-z0-9_]*', key or '') -%}
        {{ return(none) }}  {# an expression, not a column: the whole table #}
    {%- endif -%}
    {%- set sharing_a_key -%}
        (
            select * from {{ relation }}
            where {{ key }} in (select day_rows.{{ key }} from {{ day_rows }} as day_rows)
        )
    {%- endset -%}
    {{ return(sharing_a_key) }}
{%- endmacro %}


{#
    A row loaded after a table's entry of var daily_watermarks: the condition on its lineage
    column (unqualified; the daily tests, people_of_the_day and the customers snapshot).
#}
{% macro loaded_since_daily_watermark(watermark) -%}
    {{ watermark.column }} > cast('{{ watermark.loaded_at }}' as timestamp)
{%- endmacro %}


{#
    For a singular test over tables of people: the condition on `customer_unique_id` that keeps
    the people with a row loaded after the watermark of any of `relations` (var
    daily_watermarks), or `true` (everyone) outside a daily build or when one has no watermark.
#}
{% macro people_of_the_day(relations) -%}
    {%- set watermarks = var('daily_watermarks', {}) -%}
    {%- if not relations | map(attribute='identifier') | select('in', watermarks) | list
        | length == relations | length -%}
        {{ return('true') }}
    {%- endif -%}
    customer_unique_id in (
    {%- for relation in relations %}
        {%- set watermark = watermarks[relation.identifier] %}
        select people.customer_unique_id from {{ relation }} as people
        where people.{{ loaded_since_daily_watermark(watermark) }}
        {{- ' union' if not loop.last }}
    {%- endfor %}
    )
{%- endmacro %}
