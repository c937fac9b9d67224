-- grain: one row per customer (customer_unique_id) with at least one loaded order
-- The current address of each person and when it was revealed: the purchase time of the
-- order that first gave it. Feeds snapshots/customers_snapshot, whose validity then starts
-- at that business time rather than at the time the snapshot ran.
with

address_periods as (
    select * from {{ ref('int_customer_addresses_collapsed_to_periods') }}
),

final as (
    select
        customer_unique_id,
        zip_code_prefix,
        city,
        state,  -- noqa: RF04
        valid_from as address_revealed_at,
        revealed_by_order_id,
        _loaded_at
    from address_periods
    -- undated addresses (no loaded order) have no business time to snapshot
    where
        valid_to is null
        and valid_from is not null
)

select * from final
