-- grain: one row per customer and address period (customer_unique_id, valid_from)
-- Type 2 history of the customers' addresses: a row per period a person lived at one address,
-- valid from the purchase time of the order that revealed the address (inclusive) to the
-- start of the next period (exclusive); valid_to is null on the current row.
-- Facts join it point in time: valid_from <= purchased_at < coalesce(valid_to, forever).
with

address_periods as (
    select * from {{ ref('int_customer_addresses_collapsed_to_periods') }}
),

final as (
    select
        {{ surrogate_key(['customer_unique_id', 'valid_from']) }} as customer_history_key,
        customer_unique_id,
        zip_code_prefix,
        city,
        state,  -- noqa: RF04
        valid_from,
        valid_to,
        valid_to is null as is_current,
        revealed_by_customer_id,
        revealed_by_order_id
    from address_periods
)

select * from final
