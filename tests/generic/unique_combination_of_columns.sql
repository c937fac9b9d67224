{#
    The combination of columns is unique: one row per group.
    Returns one row per duplicated combination (so the failure count is the number of
    combinations that repeat). Nulls group together, as SQL's group by does.
#}
{% test unique_combination_of_columns(model, combination_of_columns) %}
    {% do exceptions.raise_compiler_error(
        "unique_combination_of_columns on " ~ model
        ~ ": combination_of_columns must be a non-empty list, got " ~ combination_of_columns
    ) if combination_of_columns is string or combination_of_columns | length == 0 %}
{% set column_list = combination_of_columns | join(", ") %}

with

duplicated_combinations as (
    select
        {{ column_list }},
        count(*) as count_rows
    from {{ model }}
    group by {{ column_list }}
    having count(*) > 1
)

select * from duplicated_combinations

{% endtest %}
