-- grain: one row per zip code prefix with at least one point inside Brazil
-- Representative point: the median latitude and, separately, the median longitude of the
-- prefix's distinct points inside Brazil (staging already dropped exact duplicates);
-- city and state: the most frequent spelling among those points, ties alphabetically.
-- Lineage (the newest load time and drop date of the prefix's points): dim_customers, which
-- is incremental by person, recomputes the people of the prefixes whose points changed.
with

geolocations as (
    select * from {{ ref('stg_olist__geolocations') }}
),

-- Brazil's bounding box, extreme points included; outside it a point is a geocoding error.
points_in_brazil as (
    select * from geolocations
    where
        latitude between -33.75 and 5.3
        and longitude between -73.99 and -34.79
),

-- Everything is ranked in one pass and aggregated once, without a self-join: PostgreSQL
-- underestimates the bounding-box filter and would otherwise nest-loop the join.
-- Median by position: with n points the middle ranks are (n + 1) div 2 and n div 2 + 1
-- (the same rank when n is odd). Window ranks rather than percentile_cont, whose use
-- Redshift restricts.
ranked as (
    select
        zip_code_prefix,
        latitude,
        longitude,
        city,
        state,
        _loaded_at,
        _ingest_date,
        count(*) over (partition by zip_code_prefix) as count_prefix_points,
        count(*) over (partition by zip_code_prefix, city, state) as count_place_name_points,
        row_number() over (partition by zip_code_prefix order by latitude) as latitude_rank,
        row_number() over (partition by zip_code_prefix order by longitude) as longitude_rank
    from points_in_brazil
),

-- The most frequent (city, state) spelling ranks first, ties alphabetically.
place_names_ranked as (
    select
        ranked.*,
        {{ integer_divide('count_prefix_points + 1', '2') }} as lower_middle_rank,
        {{ integer_divide('count_prefix_points', '2') }} + 1 as upper_middle_rank,
        row_number() over (
            partition by zip_code_prefix
            order by count_place_name_points desc, city asc, state asc
        ) as place_name_rank
    from ranked
),

aggregated as (
    select
        zip_code_prefix,
        max(case when place_name_rank = 1 then city end) as city,
        -- state is an unreserved keyword on Redshift, fine as a column name
        max(case when place_name_rank = 1 then state end) as state,  -- noqa: RF04
        avg(
            case
                when latitude_rank in (lower_middle_rank, upper_middle_rank) then latitude
            end
        ) as latitude,
        avg(
            case
                when longitude_rank in (lower_middle_rank, upper_middle_rank) then longitude
            end
        ) as longitude,
        count(*) as count_points,
        max(_loaded_at) as _loaded_at,
        max(_ingest_date) as _ingest_date
    from place_names_ranked
    group by zip_code_prefix
),

final as (
    select
        zip_code_prefix,
        city,
        state,
        cast(latitude as double precision) as latitude,
        cast(longitude as double precision) as longitude,
        count_points,
        _loaded_at,
        _ingest_date
    from aggregated
)

select * from final
