"""olist-elt's Python side, one subpackage per stage of the pipeline.

- ``spec``: the one description of the nine Olist files, read by every stage.
- ``load/``: sources (folder, S3), streaming validation, one target module per warehouse,
  and the audit table: a full load of the nine files, atomic per table.
- ``generate/``: the deterministic Olist-shaped data generator, any scale.
- ``daily/``: daily drops: replaying the files as drops, loading drops, and the daily run
  that builds what a drop changed.
- ``ops/``: operating it: failure alerts and the archive of dbt run results.
- ``pipeline``: the main job (generate or take the files, load, ``dbt build``).
- ``dev/``: helpers for local development and the tests only (a throwaway PostgreSQL);
  nothing on the runtime path imports them.
"""
