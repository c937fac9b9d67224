-- grain: one row per purchase month and product category (order_month, product_category)
-- Revenue is the item price of orders that count towards revenue (is_revenue_order).
with

order_items as (
    select * from {{ ref('fct_order_items') }}
),

products as (
    select * from {{ ref('dim_products') }}
),

dates as (
    select * from {{ ref('dim_dates') }}
),

revenue_items as (
    select
        dates.month_start_date as order_month,
        products.category_name_english as product_category,
        order_items.order_id,
        order_items.price_brl,
        order_items.freight_value_brl,
        order_items.allocated_payment_brl
    from order_items
    inner join products
        on order_items.product_id = products.product_id
    inner join dates
        on order_items.purchase_date_key = dates.date_key
    where {{ is_revenue_order('order_items.order_status') }}
),

category_months as (
    select
        order_month,
        product_category,
        count(distinct order_id) as count_orders,
        count(*) as count_order_items,
        sum(price_brl) as revenue_brl,
        sum(freight_value_brl) as freight_value_brl,
        sum(allocated_payment_brl) as allocated_payment_brl
    from revenue_items
    group by order_month, product_category
),

final as (
    select
        order_month,
        product_category,
        cast(count_orders as integer) as count_orders,
        cast(count_order_items as integer) as count_order_items,
        cast(revenue_brl as numeric(14, 2)) as revenue_brl,
        cast(freight_value_brl as numeric(14, 2)) as freight_value_brl,
        cast(allocated_payment_brl as numeric(14, 2)) as allocated_payment_brl,
        cast(revenue_brl as double precision) / count_order_items as average_item_price_brl,
        cast(revenue_brl as double precision)
        / nullif(cast(sum(revenue_brl) over (partition by order_month) as double precision), 0)
            as share_of_month_revenue
    from category_months
)

select * from final
