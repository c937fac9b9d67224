-- grain: one row per seller
with

sellers as (
    select * from {{ ref('stg_olist__sellers') }}
),

geolocations as (
    select * from {{ ref('int_geolocations_deduplicated_to_zip_prefixes') }}
),

final as (
    select
        sellers.seller_id,
        sellers.seller_zip_code_prefix as zip_code_prefix,
        sellers.seller_city as city,
        -- state is an unreserved keyword on Redshift, fine as a column name
        sellers.seller_state as state,  -- noqa: RF04
        geolocations.latitude,
        geolocations.longitude
    from sellers
    left join geolocations
        on sellers.seller_zip_code_prefix = geolocations.zip_code_prefix
)

select * from final
