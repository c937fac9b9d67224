-- grain: one row per customer_unique_id (a person), with the current address:
-- the address given on the person's latest order
with

customers as (
    select * from {{ ref('int_customers_deduplicated_to_unique_ids') }}
),

geolocations as (
    select * from {{ ref('int_geolocations_deduplicated_to_zip_prefixes') }}
),

final as (
    select
        customers.customer_unique_id,
        customers.current_customer_id,
        customers.customer_zip_code_prefix as zip_code_prefix,
        customers.customer_city as city,
        -- state is an unreserved keyword on Redshift, fine as a column name
        customers.customer_state as state,  -- noqa: RF04
        geolocations.latitude,
        geolocations.longitude,
        cast(customers.count_customer_ids as integer) as count_customer_ids,
        cast(customers.count_zip_code_prefixes as integer) as count_zip_code_prefixes,
        cast(customers.count_orders as integer) as count_orders,
        customers.first_purchased_at,
        customers.last_purchased_at
    from customers
    left join geolocations
        on customers.customer_zip_code_prefix = geolocations.zip_code_prefix
)

select * from final
