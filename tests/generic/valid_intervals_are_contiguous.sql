{#
    Validity intervals [valid_from, valid_to) of each entity (partition_by) follow one another
    with neither gap nor overlap. Ordered by valid_from, every row but the last ends where the
    next one starts; only the last row may be open (valid_to null), and with last_is_open it
    must be; every interval is longer than zero; a null valid_from (start unknown) is allowed
    on the first row only. Each failing row says which rule it breaks (`violation`).
#}
{% test valid_intervals_are_contiguous(
    model,
    partition_by,
    valid_from='valid_from',
    valid_to='valid_to',
    last_is_open=true
) %}

with

intervals as (
    select
        {{ partition_by }} as partition_value,
        {{ valid_from }} as valid_from,
        {{ valid_to }} as valid_to,
        lead({{ valid_from }}) over (
            partition by {{ partition_by }}
            order by {{ valid_from }} nulls first
        ) as next_valid_from,
        row_number() over (
            partition by {{ partition_by }}
            order by {{ valid_from }} nulls first
        ) as interval_number,
        count(*) over (partition by {{ partition_by }}) as count_intervals
    from {{ model }}
),

checked as (
    select
        intervals.*,
        case
            when valid_from is null and interval_number > 1
                then 'unknown start after the first interval'
            when valid_to is not null and valid_from is not null and valid_to <= valid_from
                then 'empty or negative interval'
            when interval_number < count_intervals and valid_to is null
                then 'open interval before the last one (overlap)'
            when interval_number < count_intervals and valid_to <> next_valid_from
                then 'does not end where the next interval starts (gap or overlap)'
            {% if last_is_open %}
            when interval_number = count_intervals and valid_to is not null
                then 'last interval is closed (no current row)'
            {% endif %}
        end as violation
    from intervals
)

select * from checked
where violation is not null

{% endtest %}
