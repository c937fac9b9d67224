{#
    The model and compare_model have the same number of rows. The failure count is the
    absolute difference of the two counts, so the test output says how far apart they are.
#}
{% test equal_rowcount(model, compare_model) %}
{{ config(fail_calc="coalesce(sum(row_count_difference), 0)") }}

with

model_count as (
    select count(*) as count_rows from {{ model }}
),

compare_count as (
    select count(*) as count_rows from {{ compare_model }}
),

compared as (
    select
        model_count.count_rows as model_count_rows,
        compare_count.count_rows as compare_model_count_rows,
        abs(model_count.count_rows - compare_count.count_rows) as row_count_difference
    from model_count
    cross join compare_count
)

select * from compared
where row_count_difference <> 0

{% endtest %}
