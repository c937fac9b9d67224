{#
    The statement that sets how the warehouse stores its tables, run before every dbt run
    (on-run-start in dbt_project.yml), or nothing on an adapter with no such setting.

    DuckDB: strings are stored without dictionary-FSST compression. A daily build finds a
    day's few thousand keys (random 32-character ids) in whole tables many times over (the
    changed orders and people, the deletes of delete+insert, the daily relationship tests),
    and decoding compressed strings makes up most of each of those scans; uncompressed, a
    scan costs a fraction, so the daily build grows much less with the history. The price is
    a larger file (docs/daily.md#what-a-daily-run-costs; the history table of
    docs/benchmarks.md shows both). Tables keep the storage they were written with until
    rewritten: a full refresh brings an existing warehouse over.
#}
{% macro warehouse_storage_settings() %}
    {%- if target.type == 'duckdb' -%}
        set global disabled_compression_methods = 'dict_fsst'
    {%- endif -%}
{% endmacro %}
