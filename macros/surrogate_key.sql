{#
    Surrogate key: md5 of the columns cast to text, joined with '|';
    nulls become '_null_' so that (null, 'a') and ('a', null) differ.
#}
{% macro surrogate_key(columns) %}
    {%- if columns is string or columns | length == 0 -%}
        {{ exceptions.raise_compiler_error(
            "surrogate_key expects a non-empty list of column names, got " ~ columns
        ) }}
    {%- endif -%}
    {%- set parts = [] -%}
    {%- for column in columns -%}
        {%- set as_text = "cast(" ~ column ~ " as " ~ dbt.type_string() ~ ")" -%}
        {%- do parts.append("coalesce(" ~ as_text ~ ", '_null_')") -%}
        {%- if not loop.last -%}
            {%- do parts.append("'|'") -%}
        {%- endif -%}
    {%- endfor -%}
    {{ dbt.hash(dbt.concat(parts)) }}
{% endmacro %}
