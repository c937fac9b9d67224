"""Operating the pipeline: failure alerts (``alerts``) and the archive of dbt run results
that analysts can query (``run_history``)."""
