"""Lint-time stand-in for dbt's `target` (the default DuckDB output of profiles.yml.example)."""

name = "duckdb"
type = "duckdb"
schema = "analytics"
database = "olist"
profile_name = "olist_elt"
threads = 4
