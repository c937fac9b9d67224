-- grain: one row per customer_unique_id (a person)
-- Current address = the address of the customer record of the person's latest order.
with

customer_ids as (
    select * from {{ ref('int_customer_ids_mapped_to_unique_customers') }}
),

orders as (
    select * from {{ ref('stg_olist__orders') }}
),

current_records as (
    select * from customer_ids
    where is_current_record
),

person_orders as (
    select
        customer_ids.customer_unique_id,
        count(orders.order_id) as count_orders,
        min(orders.purchased_at) as first_purchased_at,
        max(orders.purchased_at) as last_purchased_at
    from customer_ids
    left join orders
        on customer_ids.customer_id = orders.customer_id
    group by customer_ids.customer_unique_id
),

person_records as (
    select
        customer_unique_id,
        count(*) as count_customer_ids,
        count(distinct customer_zip_code_prefix) as count_zip_code_prefixes
    from customer_ids
    group by customer_unique_id
),

final as (
    select
        current_records.customer_unique_id,
        current_records.customer_id as current_customer_id,
        current_records.customer_zip_code_prefix,
        current_records.customer_city,
        current_records.customer_state,
        person_records.count_customer_ids,
        person_records.count_zip_code_prefixes,
        person_orders.count_orders,
        person_orders.first_purchased_at,
        person_orders.last_purchased_at
    from current_records
    inner join person_records
        on current_records.customer_unique_id = person_records.customer_unique_id
    inner join person_orders
        on current_records.customer_unique_id = person_orders.customer_unique_id
)

select * from final
