{{ config(tags=["daily"]) }}
-- Every person of dim_customers has exactly one current row in dim_customers_history, and it
-- holds the address dim_customers gives as current (both take the latest order's address,
-- ties on the greatest customer_id). Each failing row names the person and what is wrong.
-- In a daily build it checks the people with a row of the day in either table
-- (people_of_the_day, macros/daily_tests.sql); elsewhere, everyone.
{%- set tables = [ref('dim_customers'), ref('dim_customers_history')] %}
with

customers as (
    select * from {{ ref('dim_customers') }}
    where {{ people_of_the_day(tables) }}
),

history as (
    select * from {{ ref('dim_customers_history') }}
    where {{ people_of_the_day(tables) }}
),

current_rows as (
    select
        customer_unique_id,
        count(*) as count_current_rows,
        max(zip_code_prefix) as zip_code_prefix,
        max(city) as city,
        max(state) as state  -- noqa: RF04
    from history
    where is_current
    group by customer_unique_id
),

compared as (
    select
        coalesce(customers.customer_unique_id, current_rows.customer_unique_id)
            as customer_unique_id,
        case
            when customers.customer_unique_id is null
                then 'current history row for a person missing from dim_customers'
            when current_rows.customer_unique_id is null
                then 'no current history row'
            when current_rows.count_current_rows > 1
                then 'several current history rows'
            when
                current_rows.zip_code_prefix <> customers.zip_code_prefix
                or current_rows.city <> customers.city
                or current_rows.state <> customers.state
                then 'current history address differs from dim_customers'
        end as violation
    from customers
    full outer join current_rows
        on customers.customer_unique_id = current_rows.customer_unique_id
)

select * from compared
where violation is not null
