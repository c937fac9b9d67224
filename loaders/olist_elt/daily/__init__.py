"""Daily drops: ``<root>/ingest_date=YYYY-MM-DD/`` folders of the rows each day brought.

``replay`` writes them from the nine files, ``drops`` finds them (folder or S3),
``drop_load`` appends them to the raw tables, and ``run`` is the daily job: load the day's
drop, then build and test what it changed.
"""
