{#
    SQL type for each logical staging type of loaders/olist_elt/spec.py
    (string, integer, money, float, timestamp, date).
    Strings are text, except on Redshift where text means varchar(256) bytes: review
    comments with accents can be longer, so strings get the widest varchar there.
#}
{% macro olist_type(logical_type) %}
    {%- set string_type = 'varchar(65535)' if target.type == 'redshift' else dbt.type_string() -%}
    {%- set types = {
        'string': string_type,
        'integer': 'integer',
        'money': 'numeric(12, 2)',
        'float': 'double precision',
        'timestamp': 'timestamp',
        'date': 'date',
    } -%}
    {%- if logical_type not in types -%}
        {{ exceptions.raise_compiler_error(
            "olist_type: unknown logical type '" ~ logical_type ~ "', expected one of "
            ~ (types.keys() | list | join(', '))
        ) }}
    {%- endif -%}
    {{ return(types[logical_type]) }}
{% endmacro %}


{#
    Staging cast of one raw text column: trim, empty string to null, cast.
    Dates go through timestamp because the files write them as 'yyyy-mm-dd 00:00:00',
    which DuckDB refuses to cast straight to date.
#}
{% macro clean_cast(column_name, logical_type='string') %}
    {%- set cleaned = "nullif(trim(" ~ column_name ~ "), '')" -%}
    {%- if logical_type == 'date' -%}
        cast(cast({{ cleaned }} as {{ olist_type('timestamp') }}) as {{ olist_type('date') }})
    {%- else -%}
        cast({{ cleaned }} as {{ olist_type(logical_type) }})
    {%- endif -%}
{% endmacro %}
