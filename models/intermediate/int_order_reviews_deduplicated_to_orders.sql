{{ config(unique_key='order_id', dist='order_id') }}
-- grain: one row per order with at least one review
-- An order can have several reviews (87 orders in the real sample): the order's review is
-- the latest answered one (ties: latest created, then the greatest review_id).
-- Incremental by whole orders: a run recomputes the orders with a review row since the
-- table's watermark (macros/incremental_watermark.sql); as a view, the daily facts' filter
-- to their orders would not reach below the ranking, which would read every review.
with

{% if is_incremental() %}
    {%- set watermark = incremental_watermark() %}

    changed_orders as (
        {{ keys_since_watermark(ref('stg_olist__order_reviews'), 'order_id', watermark) }}
    ),
{% endif %}

reviews as (
    select * from {{ ref('stg_olist__order_reviews') }}
    {{ where_changed('order_id', 'changed_orders') }}
),

ranked as (
    select
        order_id,
        review_id,
        review_score,
        review_created_date,
        review_answered_at,
        count(*) over (partition by order_id) as count_reviews,
        max(_loaded_at) over (partition by order_id) as _loaded_at,
        max(_ingest_date) over (partition by order_id) as _ingest_date,
        row_number() over (
            partition by order_id
            order by
                review_answered_at desc nulls last,
                review_created_date desc nulls last,
                review_id desc
        ) as review_rank
    from reviews
),

final as (
    select
        order_id,
        review_id,
        review_score,
        review_created_date,
        review_answered_at,
        count_reviews,
        _loaded_at,
        _ingest_date
    from ranked
    where review_rank = 1
)

select * from final
