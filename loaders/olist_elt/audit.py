"""The audit table ``<schema>._load_runs``: one row per table per load run.

It answers "what is in this raw table and where did it come from", and lets a
re-run skip tables whose source has not changed. A successful load writes its row
in the same transaction as the data; a failure or a skip writes its own row.

``source_checksum`` is the sha256 of the stored bytes for local files and the
ETag for S3 objects (digests of these for tables split into parts).
``source_modified_at`` (file mtime / S3 LastModified) backs the fast unchanged
check for local files, see load.py.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime

from olist_elt.sql import ident, literal, qualified

AUDIT_TABLE = "_load_runs"

LOADED = "loaded"
SKIPPED = "skipped"
FAILED = "failed"
PLANNED = "planned"  # dry-run only, never stored

# varchar(n) and bigint/timestamp mean the same on DuckDB, PostgreSQL and Redshift.
_COLUMN_TYPES = {
    "load_id": "varchar(64) not null",
    "table_name": "varchar(128) not null",
    "source_uri": "varchar(2048)",
    "source_bytes": "bigint",
    "source_checksum": "varchar(128)",
    "source_modified_at": "timestamp",
    "rows_read": "bigint",
    "rows_loaded": "bigint",
    "started_at": "timestamp not null",
    "finished_at": "timestamp",
    "status": "varchar(16) not null",
    "error": "varchar(4096)",
}
MAX_ERROR_CHARS = 4000


@dataclass
class AuditRow:
    load_id: str
    table_name: str
    source_uri: str | None
    source_bytes: int | None
    source_checksum: str | None
    source_modified_at: datetime | None
    rows_read: int | None
    rows_loaded: int | None
    started_at: datetime
    finished_at: datetime | None
    status: str
    error: str | None = None


def create_table_sql(schema: str) -> str:
    columns = ",\n".join(f"    {ident(name)} {kind}" for name, kind in _COLUMN_TYPES.items())
    return f"create table if not exists {qualified(schema, AUDIT_TABLE)} (\n{columns}\n)"


def insert_sql(schema: str, row: AuditRow, *, backslash_escapes: bool = False) -> str:
    names = [f.name for f in fields(AuditRow)]
    values = []
    for name in names:
        value = getattr(row, name)
        if name == "error" and value is not None:
            value = value[:MAX_ERROR_CHARS]
        values.append(literal(value, backslash_escapes=backslash_escapes))
    return (
        f"insert into {qualified(schema, AUDIT_TABLE)} ({', '.join(map(ident, names))})\n"
        f"values ({', '.join(values)})"
    )


def last_good_sql(schema: str, table: str) -> str:
    """The latest run that left this table holding a known source (loaded or skipped)."""
    return (
        "select source_uri, source_bytes, source_checksum, source_modified_at\n"
        f"from {qualified(schema, AUDIT_TABLE)}\n"
        f"where table_name = {literal(table)}\n"
        f"    and status in ({literal(LOADED)}, {literal(SKIPPED)})\n"
        "order by started_at desc, finished_at desc\n"
        "limit 1"
    )


@dataclass(frozen=True)
class LastGood:
    source_uri: str | None
    source_bytes: int | None
    source_checksum: str | None
    source_modified_at: datetime | None
