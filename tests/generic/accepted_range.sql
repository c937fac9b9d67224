{#
    Every non-null value of the column lies between min_value and max_value (either may be
    omitted). inclusive=false makes both bounds strict. Null values pass: test them with not_null.
#}
{% test accepted_range(model, column_name, min_value=none, max_value=none, inclusive=true) %}
    {% if min_value is none and max_value is none %}
        {{ exceptions.raise_compiler_error(
            "accepted_range on " ~ model ~ "." ~ column_name
            ~ ": give min_value, max_value or both"
        ) }}
    {% endif %}
    {% set bounds = [] %}
    {% do bounds.append(column_name ~ (" >= " if inclusive else " > ") ~ min_value)
        if min_value is not none %}
    {% do bounds.append(column_name ~ (" <= " if inclusive else " < ") ~ max_value)
        if max_value is not none %}

with

out_of_range as (
    select *
    from {{ model }}
    where
        {{ column_name }} is not null
        and not ({{ bounds | join(" and ") }})
)

select * from out_of_range

{% endtest %}
