-- grain: one row per distinct point of a zip code prefix
-- (zip_code_prefix, latitude, longitude, city, state): the file repeats rows exactly
-- (9,028 duplicates in the real sample); int_geolocations_deduplicated_to_zip_prefixes
-- reduces the points to one per prefix. No key, so no latest version: a point sent again
-- in a later drop is the same point (count_source_rows counts every copy).
with

source as (
    select * from {{ source('olist', 'geolocation') }}
),

renamed as (
    select
        -- strings
        {{ clean_cast('geolocation_zip_code_prefix') }} as zip_code_prefix,
        {{ clean_cast('geolocation_city') }} as city,
        -- state: the spec's staged name; an unreserved keyword on Redshift, fine as a column
        {{ clean_cast('geolocation_state') }} as state,  -- noqa: RF04

        -- numerics
        {{ clean_cast('geolocation_lat', 'float') }} as latitude,
        {{ clean_cast('geolocation_lng', 'float') }} as longitude,

        -- lineage
        _loaded_at,
        _load_id,
        _ingest_date
    from source
),

-- Exact duplicates say nothing more about the place: keep one row per distinct point.
deduplicated as (
    select
        zip_code_prefix,
        city,
        state,
        latitude,
        longitude,
        count(*) as count_source_rows,
        max(_loaded_at) as _loaded_at,
        max(_load_id) as _load_id,
        max(_ingest_date) as _ingest_date
    from renamed
    group by
        zip_code_prefix,
        city,
        state,
        latitude,
        longitude
)

select * from deduplicated
