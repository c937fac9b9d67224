{#
    A boolean SQL expression holds on every row. Under a column, the expression is appended
    to the column name (`expression: ">= 0"`). Rows where the expression is null pass, as in
    a check constraint: pair it with not_null when null is wrong.
    Restrict the rows with the usual `config: {where: ...}`.
#}
{% test expression_is_true(model, expression, column_name=none) %}
{% set checked = (column_name ~ " " ~ expression) if column_name is not none else expression %}

with

violating_rows as (
    select *
    from {{ model }}
    where not ({{ checked }})
)

select * from violating_rows

{% endtest %}
