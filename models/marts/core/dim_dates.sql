-- grain: one row per calendar day, from January 1st of the first order's year to
-- December 31st of the last year any order date (purchase, promise, delivery) falls in
with

orders as (
    select * from {{ ref('stg_olist__orders') }}
),

-- A fixed, generous spine (dbt.date_spine needs bounds at compile time), cut below
-- to the years the data covers.
spine as (
    {{ dbt.date_spine(
        'day',
        "cast('" ~ var('dim_dates_spine_start', '2010-01-01') ~ "' as date)",
        "cast('" ~ var('dim_dates_spine_end', '2036-01-01') ~ "' as date)",
    ) }}
),

order_dates as (
    select cast(purchased_at as date) as order_date from orders
    union all
    select estimated_delivery_date from orders
    union all
    select cast(delivered_to_customer_at as date) from orders
),

bounds as (
    select
        cast({{ dbt.date_trunc('year', 'min(order_date)') }} as date) as first_date,
        cast({{ dbt.dateadd('year', 1, dbt.date_trunc('year', 'max(order_date)')) }} as date)
            as after_last_date
    from order_dates
),

days as (
    select cast(spine.date_day as date) as date_day
    from spine
    inner join bounds
        on
            cast(spine.date_day as date) >= bounds.first_date
            and cast(spine.date_day as date) < bounds.after_last_date
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
