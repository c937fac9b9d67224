{#
    The model has at least one row (a `where` config counts only the matching rows).
    Catches a build that succeeds on an empty input: returns one row when empty.
#}
{% test not_empty(model) %}

with

row_count as (
    select count(*) as count_rows from {{ model }}
)

select * from row_count
where count_rows = 0

{% endtest %}
