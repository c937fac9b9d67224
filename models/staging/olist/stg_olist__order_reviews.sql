-- grain: one row per review of an order (review_id, order_id)
with

source as (
    select * from {{ source('olist', 'order_reviews') }}
),

renamed as (
    select
        -- ids
        {{ clean_cast('review_id') }} as review_id,
        {{ clean_cast('order_id') }} as order_id,

        -- strings
        {{ clean_cast('review_comment_title') }} as review_comment_title,
        {{ clean_cast('review_comment_message') }} as review_comment_message,

        -- numerics
        {{ clean_cast('review_score', 'integer') }} as review_score,

        -- dates and timestamps
        {{ clean_cast('review_creation_date', 'date') }} as review_created_date,
        {{ clean_cast('review_answer_timestamp', 'timestamp') }} as review_answered_at,

        -- lineage
        _loaded_at,
        _load_id
    from source
),

-- The real files never repeat (review_id, order_id); a reloaded or generated file might.
-- Keep one row per pair, the latest answered.
ranked as (
    select
        renamed.*,
        row_number() over (
            partition by renamed.review_id, renamed.order_id
            order by
                renamed.review_answered_at desc nulls last,
                renamed.review_created_date desc nulls last,
                renamed.review_score desc nulls last
        ) as row_rank
    from renamed
),

deduplicated as (
    select
        review_id,
        order_id,
        review_comment_title,
        review_comment_message,
        review_score,
        review_created_date,
        review_answered_at,
        _loaded_at,
        _load_id
    from ranked
    where row_rank = 1
)

select * from deduplicated
