-- grain: one row per calendar day from var calendar_start_date up to, not including,
-- calendar_end_date. A fixed calendar, not one cut to the order dates: no daily load
-- changes it, so it is built on deploys only, and
-- assert_dim_dates_is_contiguous_and_covers_order_dates fails if the data outgrows it.
with

days as (
    select cast(date_day as date) as date_day
    from (
        {{ dbt.date_spine(
            'day',
            "cast('" ~ var('calendar_start_date') ~ "' as date)",
            "cast('" ~ var('calendar_end_date') ~ "' as date)",
        ) }}
    ) as spine
),

calendar as (
    select
        date_day,
        cast(extract(year from date_day) as integer) as year_number,
        cast(extract(quarter from date_day) as integer) as quarter_number,
        cast(extract(month from date_day) as integer) as month_number,
        cast(extract(day from date_day) as integer) as day_of_month,
        cast(extract(doy from date_day) as integer) as day_of_year,
        -- dow is 0 = Sunday on all three engines; isodow does not exist on Redshift
        cast(extract(dow from date_day) as integer) as day_of_week_from_sunday
    from days
),

final as (
    select
        {{ date_key('date_day') }} as date_key,
        date_day,
        year_number,
        quarter_number,
        month_number,
        case month_number
            when 1 then 'January'
            when 2 then 'February'
            when 3 then 'March'
            when 4 then 'April'
            when 5 then 'May'
            when 6 then 'June'
            when 7 then 'July'
            when 8 then 'August'
            when 9 then 'September'
            when 10 then 'October'
            when 11 then 'November'
            when 12 then 'December'
        end as month_name,
        cast({{ dbt.date_trunc('month', 'date_day') }} as date) as month_start_date,
        day_of_month,
        day_of_year,
        -- ISO numbering: 1 = Monday ... 7 = Sunday
        cast((day_of_week_from_sunday + 6) % 7 + 1 as integer) as day_of_week,
        case day_of_week_from_sunday
            when 0 then 'Sunday'
            when 1 then 'Monday'
            when 2 then 'Tuesday'
            when 3 then 'Wednesday'
            when 4 then 'Thursday'
            when 5 then 'Friday'
            when 6 then 'Saturday'
        end as day_name,
        day_of_week_from_sunday in (0, 6) as is_weekend
    from calendar
)

select * from final
