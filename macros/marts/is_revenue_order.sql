{#
    True when an order counts towards revenue: every status except canceled and unavailable
    (unavailable orders were paid but never fulfilled; 609 of them in the real sample,
    603 without any item). The business marts and their reconciliation tests share this rule.
#}
{% macro is_revenue_order(status_column) -%}
    ({{ status_column }} not in ('canceled', 'unavailable'))
{%- endmacro %}
