{{ config(
    materialized='incremental',
    unique_key='customer_unique_id',
    incremental_strategy='delete+insert',
    on_schema_change='fail',
) }}
-- grain: one row per customer_unique_id (a person), with the current address:
-- the address given on the person's latest order
-- Incremental by person: a run recomputes, from all their records and orders, the people with a
-- customer record or an order since the table's watermark, or with a record in a zip code
-- prefix whose geolocation points were loaded since (macros/incremental_watermark.sql), and
-- replaces their rows. The filter is on the import CTEs, below the ranking and the counts: a
-- day's run ranks and counts a day's people, not every person.
with

{% if is_incremental() %}
    {%- set watermark = incremental_watermark('_source_loaded_at', '_source_ingest_date') %}

    -- read from the inputs themselves: the import CTEs below then hold only the changed
    -- people's rows, not whole tables
    changed_people as (
        {{ people_with_new_records_or_orders(
            ref('stg_olist__customers'), ref('stg_olist__orders'), watermark
        ) }}
        union
        {{ keys_referencing_new_rows(
            ref('stg_olist__customers'),
            'customer_unique_id',
            'customer_zip_code_prefix',
            ref('int_geolocations_deduplicated_to_zip_prefixes'),
            watermark,
            referenced_column='zip_code_prefix',
        ) }}
    ),
{% endif %}

-- The people this run recomputes (on an incremental run, the changed ones): all their records
-- and all the orders of those records.
customers as (
    select * from {{ ref('stg_olist__customers') }}
    {{ where_changed('customer_unique_id', 'changed_people') }}
),

orders as (
    select * from {{ ref('stg_olist__orders') }}
    {{ where_changed('customer_id', 'customers') }}
),

geolocations as (
    select * from {{ ref('int_geolocations_deduplicated_to_zip_prefixes') }}
),

-- customer_id is one per order in the source; keep the latest order should a record have several.
record_orders as (
    select
        customer_id,
        count(*) as count_orders,
        min(purchased_at) as first_purchased_at,
        max(purchased_at) as last_purchased_at,
        max(_loaded_at) as _loaded_at,
        max(_ingest_date) as _ingest_date
    from orders
    group by customer_id
),

-- The current record is the one of the person's latest order. Records without an order (the
-- real orders are a sample) rank after those with one; customer_id breaks the remaining ties
-- so the choice is deterministic.
records_ranked as (
    select
        customers.customer_id,
        customers.customer_unique_id,
        customers.customer_zip_code_prefix,
        customers.customer_city,
        customers.customer_state,
        customers._loaded_at as record_loaded_at,
        customers._ingest_date as record_ingest_date,
        record_orders.count_orders,
        record_orders.first_purchased_at,
        record_orders.last_purchased_at,
        record_orders._loaded_at as orders_loaded_at,
        record_orders._ingest_date as orders_ingest_date,
        row_number() over (
            partition by customers.customer_unique_id
            order by record_orders.last_purchased_at desc nulls last, customers.customer_id desc
        ) as recency_rank
    from customers
    left join record_orders
        on customers.customer_id = record_orders.customer_id
),

-- Counts over all the person's records and orders, and the newest load and drop date among them.
people as (
    select
        customer_unique_id,
        count(*) as count_customer_ids,
        count(distinct customer_zip_code_prefix) as count_zip_code_prefixes,
        coalesce(sum(count_orders), 0) as count_orders,
        min(first_purchased_at) as first_purchased_at,
        max(last_purchased_at) as last_purchased_at,
        max(record_loaded_at) as records_loaded_at,
        max(record_ingest_date) as records_ingest_date,
        max(orders_loaded_at) as orders_loaded_at,
        max(orders_ingest_date) as orders_ingest_date
    from records_ranked
    group by customer_unique_id
),

joined as (
    select
        current_records.customer_unique_id,
        current_records.customer_id as current_customer_id,
        current_records.customer_zip_code_prefix as zip_code_prefix,
        current_records.customer_city as city,
        current_records.customer_state as state,  -- noqa: RF04
        geolocations.latitude,
        geolocations.longitude,
        people.count_customer_ids,
        people.count_zip_code_prefixes,
        people.count_orders,
        people.first_purchased_at,
        people.last_purchased_at,
        -- lineage: the newest of the person's rows and of their prefix's geolocation points
        -- (greatest() ignores nulls on the three engines)
        greatest(
            people.records_loaded_at, people.orders_loaded_at, geolocations._loaded_at
        ) as source_loaded_at,
        greatest(
            people.records_ingest_date, people.orders_ingest_date, geolocations._ingest_date
        ) as source_ingest_date
    from records_ranked as current_records
    inner join people
        on current_records.customer_unique_id = people.customer_unique_id
    left join geolocations
        on current_records.customer_zip_code_prefix = geolocations.zip_code_prefix
    where current_records.recency_rank = 1
),

final as (
    select
        customer_unique_id,
        current_customer_id,
        zip_code_prefix,
        city,
        -- state is an unreserved keyword on Redshift, fine as a column name
        state,  -- noqa: RF04
        latitude,
        longitude,
        cast(count_customer_ids as integer) as count_customer_ids,
        cast(count_zip_code_prefixes as integer) as count_zip_code_prefixes,
        cast(count_orders as integer) as count_orders,
        first_purchased_at,
        last_purchased_at,
        source_loaded_at as _source_loaded_at,
        source_ingest_date as _source_ingest_date
    from joined
)

select * from final
