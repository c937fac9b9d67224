"""Operating the pipeline: failure alerts (``alerts``), the archive of dbt run results
that analysts can query (``run_history``) and the warehouse roles (``roles``)."""
