{#
    Comments (persist_docs) are written when dbt creates a relation, and left alone by an
    incremental run: it only deletes and inserts rows, and on_schema_change='fail' keeps its
    columns as they were, so the comments it would write again are the ones already there.
    A description edited in YAML reaches an incremental table with its next
    `--full-refresh`; views, tables, seeds and snapshots get it with every build.
    Writing them on every run cost a daily build two column lookups and a comment statement
    per column for each incremental table. Overrides dbt's global macro of the same name.
#}
{% macro persist_docs(relation, model, for_relation=true, for_columns=true) %}
    {% if not is_incremental() %}
        {% set write_comments = adapter.dispatch('persist_docs', 'dbt') %}
        {{ return(write_comments(relation, model, for_relation, for_columns)) }}
    {% endif %}
{% endmacro %}
