{#
    Days from start_at to end_at as a double, with the time of day kept
    (1.5 = one day and twelve hours). Null when either side is null.
    dbt.datediff counts whole units, so count seconds and divide.
#}
{% macro fractional_days_between(start_at, end_at) -%}
    cast({{ dbt.datediff(start_at, end_at, 'second') }} as double precision) / 86400.0
{%- endmacro %}
