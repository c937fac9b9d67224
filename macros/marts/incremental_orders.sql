{#
    The incremental facts (fct_orders, fct_order_items) recompute whole orders. A run
    recomputes every order that changed since the table's watermark, i.e. every order with
    a row behind it (order, items, payments, reviews, customer record) or a row behind its
    customer's address history (every order and customer record of the same
    customer_unique_id) that was

    - loaded after the newest load time already on the table (`_loaded_at` > the maximum
      `_source_loaded_at`): arrival order, whatever the drop date, so a drop for day D
      loaded after day D + 5 is still picked up; or
    - dropped on or after the newest drop date on the table minus
      `incremental_lookback_days` (`_ingest_date`): covers loads that committed out of
      order, e.g. two loads running at once, where a row can arrive with a load time older
      than one already seen.

    Both lineages are columns of `lineage` (int_order_source_rows_aggregated_to_orders,
    itself incremental by order): the order's own rows, and its customer's. `watermark` is
    what incremental_watermark returned over the fact's `_source_*` columns;
    the fact's import CTEs then keep the changed orders with where_changed
    (macros/incremental_watermark.sql).
#}

{# The changed orders since `watermark`, one row per order, from the order lineage. #}
{% macro changed_orders_since_watermark(lineage, watermark) %}
    select order_lineage.order_id
    from {{ lineage }} as order_lineage
    where
        {{ since_watermark(
            watermark, 'order_lineage._source_loaded_at', 'order_lineage._source_ingest_date'
        ) }}
        or {{ since_watermark(
            watermark,
            'order_lineage.customer_rows_loaded_at',
            'order_lineage.customer_rows_ingest_date',
        ) }}
{%- endmacro %}
