{#
    Integer yyyymmdd key of a date or timestamp, the key of dim_dates.
    extract() returns bigint on DuckDB and numeric on PostgreSQL: cast each part.
#}
{% macro date_key(date_expression) -%}
    cast(
        cast(extract(year from {{ date_expression }}) as integer) * 10000
        + cast(extract(month from {{ date_expression }}) as integer) * 100
        + cast(extract(day from {{ date_expression }}) as integer)
        as integer
    )
{%- endmacro %}
