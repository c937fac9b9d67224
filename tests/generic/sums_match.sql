{#
    Reconciliation: sum(column_name) of the model equals sum(compare_column) of compare_model,
    overall or per group, within an absolute tolerance (money is rounded per row).
    group_by names the model's grouping columns; compare_group_by the compare model's
    (defaults to the same names). Groups present on one side only count as sum 0 on the other.
    The usual `where` config filters the model; compare_where filters compare_model.
    Returns one row per group whose sums differ. Built with union all + group by instead of a
    full outer join so null group keys match and PostgreSQL accepts it.
#}
{% test sums_match(
    model,
    column_name,
    compare_model,
    compare_column=none,
    group_by=[],
    compare_group_by=none,
    compare_where=none,
    tolerance=0.01
) %}
    {% set compare_column = compare_column if compare_column is not none else column_name %}
    {% set compare_group_by = compare_group_by if compare_group_by is not none else group_by %}
    {% if compare_group_by | length != group_by | length %}
        {{ exceptions.raise_compiler_error(
            "sums_match on " ~ model ~ ": group_by " ~ group_by ~ " and compare_group_by "
            ~ compare_group_by ~ " must have the same length"
        ) }}
    {% endif %}
    {# Both sides name their group columns as the model does. #}
    {% set compare_groups = [] %}
    {% for column in compare_group_by %}
        {% do compare_groups.append(column ~ " as " ~ group_by[loop.index0]) %}
    {% endfor %}
    {% set group_list = (group_by | join(", ")) ~ ("," if group_by else "") %}
    {% set compare_group_list = (compare_groups | join(", ")) ~ ("," if group_by else "") %}
    {% set group_by_clause = ("group by " ~ (group_by | join(", "))) if group_by else "" %}
    {% set compare_group_by_clause = ("group by " ~ (compare_group_by | join(", ")))
        if group_by else "" %}

with

model_sums as (
    select
        {{ group_list }}
        sum({{ column_name }}) as model_sum,
        cast(0 as {{ dbt.type_numeric() }}) as compare_model_sum
    from {{ model }}
    {{ group_by_clause }}
),

compare_sums as (
    select
        {{ compare_group_list }}
        cast(0 as {{ dbt.type_numeric() }}) as model_sum,
        sum({{ compare_column }}) as compare_model_sum
    from {{ compare_model }}
    {{ ("where " ~ compare_where) if compare_where is not none else "" }}
    {{ compare_group_by_clause }}
),

both_sides as (
    select * from model_sums
    union all
    select * from compare_sums
),

compared as (
    select
        {{ group_list }}
        coalesce(sum(model_sum), 0) as model_sum,
        coalesce(sum(compare_model_sum), 0) as compare_model_sum
    from both_sides
    {{ group_by_clause }}
)

select
    *,
    abs(model_sum - compare_model_sum) as difference
from compared
where abs(model_sum - compare_model_sum) > {{ tolerance }}

{% endtest %}
