{#
    sum(column_name) equals `value` in every group of group_by (overall when group_by is
    empty), within an absolute tolerance. For shares that must add up to 1 per month, or
    allocations that must add up to a known total. Returns one row per group that does not;
    a group whose values are all null fails too.
#}
{% test sum_per_group_equals(model, column_name, value, group_by=[], tolerance=0.0001) %}
    {% set group_list = (group_by | join(", ")) ~ ("," if group_by else "") %}
    {% set group_by_clause = ("group by " ~ (group_by | join(", "))) if group_by else "" %}

with

group_sums as (
    select
        {{ group_list }}
        sum({{ column_name }}) as group_sum
    from {{ model }}
    {{ group_by_clause }}
)

select
    *,
    {{ value }} as expected_sum
from group_sums
where
    group_sum is null
    or abs(group_sum - {{ value }}) > {{ tolerance }}

{% endtest %}
