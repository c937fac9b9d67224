-- grain: one row per order with at least one review
-- An order can have several reviews (87 orders in the real sample): the order's review is
-- the latest answered one (ties: latest created, then the greatest review_id).
with

reviews as (
    select * from {{ ref('stg_olist__order_reviews') }}
),

ranked as (
    select
        order_id,
        review_id,
        review_score,
        review_created_date,
        review_answered_at,
        count(*) over (partition by order_id) as count_reviews,
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
        count_reviews
    from ranked
    where review_rank = 1
)

select * from final
