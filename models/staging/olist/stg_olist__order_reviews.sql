{% set key_columns = ['review_id', 'order_id'] %}
{{ config(unique_key=key_columns, dist='order_id') }}
-- grain: one row per review of an order (review_id, order_id)
-- The real files never repeat (review_id, order_id); a generated or corrected file might,
-- within one load: then the latest answered wins (raw text sorts like the timestamps here).
with

source as (
    {{ latest_version(
        source('olist', 'order_reviews'),
        key_columns,
        tiebreakers=[
            'review_answer_timestamp desc nulls last',
            'review_creation_date desc nulls last',
            'review_score desc nulls last',
        ]
    ) }}
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
        _load_id,
        _ingest_date
    from source
)

select * from renamed
