{#
    Integer division (truncating) of two non-negative integers, exact on every engine.
    DuckDB's `/` always returns a double, and PostgreSQL's sum(bigint) is numeric, whose
    `/` keeps the fraction: cast both sides to bigint and use each engine's integer division.
#}
{% macro integer_divide(numerator, denominator) %}
    {{ return(adapter.dispatch('integer_divide')(numerator, denominator)) }}
{% endmacro %}

{% macro default__integer_divide(numerator, denominator) -%}
    (cast({{ numerator }} as bigint) / cast({{ denominator }} as bigint))
{%- endmacro %}

{% macro duckdb__integer_divide(numerator, denominator) -%}
    (cast({{ numerator }} as bigint) // cast({{ denominator }} as bigint))
{%- endmacro %}
