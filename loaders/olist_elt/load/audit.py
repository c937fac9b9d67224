"""The audit table ``<schema>._load_runs``: one row per table per load run.

It answers "what is in this raw table and where did it come from", and lets a
re-run skip tables whose source has not changed. A successful load writes its row
in the same transaction as the data; a failure or a skip writes its own row.

``source_checksum`` is the sha256 of the stored bytes for local files and the
ETag for S3 objects (digests of these for tables split into parts).
``source_modified_at`` (file mtime / S3 LastModified) backs the fast unchanged
check for local files, see load.py.

Each run (``olist load`` of a folder, or of drops) also has a run row, ``table_name = '*'``,
written before its first table with status ``started`` and updated at its end to
``finished`` (every table loaded or skipped) or ``failed``. A run row still ``started`` when
the next run takes the lock belongs to a run that died (killed, crashed, machine lost):
that next run marks it ``interrupted``. DuckDB and PostgreSQL only (they have the lock).

``ingest_date`` is null for a full load (which replaces the table) and the drop's day for
a daily drop (which replaces only that day's rows). A drop counts as loaded when a
loaded or skipped row for (table, ingest_date) with its checksum exists *after* the
table's last full load: a full load removes the rows of every earlier drop.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import UTC, date, datetime

from olist_elt.load.sql import ident, literal, qualified

AUDIT_TABLE = "_load_runs"

LOADED = "loaded"
SKIPPED = "skipped"
FAILED = "failed"
PLANNED = "planned"  # dry-run only, never stored
STATUSES = (LOADED, SKIPPED, PLANNED, FAILED)
# The run row: table_name RUN_TABLE, status STARTED then FINISHED, FAILED or INTERRUPTED.
RUN_TABLE = "*"
STARTED = "started"
FINISHED = "finished"
INTERRUPTED = "interrupted"

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
    # Added after the first release: prepare() adds it to older audit tables.
    "ingest_date": "date",
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
    ingest_date: date | None = None  # the drop's day; None for a full load


def create_table_sql(schema: str) -> str:
    columns = ",\n".join(f"    {ident(name)} {kind}" for name, kind in _COLUMN_TYPES.items())
    return f"create table if not exists {qualified(schema, AUDIT_TABLE)} (\n{columns}\n)"


def add_ingest_date_sql(schema: str) -> str:
    """Bring an audit table created before daily drops up to date (DuckDB, PostgreSQL)."""
    return (
        f"alter table {qualified(schema, AUDIT_TABLE)} "
        f"add column if not exists ingest_date {_COLUMN_TYPES['ingest_date']}"
    )


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


def unfinished_runs_sql(schema: str) -> str:
    """Run rows still ``started``: runs that are not running any more once we hold the lock."""
    return (
        f"select load_id, started_at from {qualified(schema, AUDIT_TABLE)}\n"
        f"where table_name = {literal(RUN_TABLE)} and status = {literal(STARTED)}\n"
        "order by started_at"
    )


def mark_interrupted_sql(schema: str, noticed_by: str) -> str:
    why = f"the run stopped before it finished (killed or crashed); seen by {noticed_by}"
    return (
        f"update {qualified(schema, AUDIT_TABLE)}\n"
        f"set status = {literal(INTERRUPTED)}, error = {literal(why)}\n"
        f"where table_name = {literal(RUN_TABLE)} and status = {literal(STARTED)}"
    )


def finish_run_sql(
    schema: str,
    load_id: str,
    status: str,
    rows_loaded: int,
    error: str | None,
    *,
    backslash_escapes: bool = False,
) -> str:
    def lit(value: object) -> str:
        return literal(value, backslash_escapes=backslash_escapes)

    finished = datetime.now(UTC).replace(tzinfo=None)
    message = error[:MAX_ERROR_CHARS] if error else None
    return (
        f"update {qualified(schema, AUDIT_TABLE)}\n"
        f"set status = {lit(status)}, finished_at = {lit(finished)}, "
        f"rows_loaded = {lit(rows_loaded)}, error = {lit(message)}\n"
        f"where table_name = {lit(RUN_TABLE)} and load_id = {lit(load_id)}"
    )


def last_good_sql(schema: str, table: str, ingest_date: date | None = None) -> str:
    """The latest run that left this table (or this drop of it) holding a known source.

    For a full load (``ingest_date`` None) that is the table's latest loaded or skipped
    run of any kind: when it was a drop, the table no longer equals the full file. For a
    drop, only runs of that drop after the table's last full load count.
    """
    columns = "runs.source_uri, runs.source_bytes, runs.source_checksum, runs.source_modified_at"
    if ingest_date is None:
        return (
            f"select {columns}, runs.ingest_date\n"
            f"from {qualified(schema, AUDIT_TABLE)} as runs\n"
            f"where runs.table_name = {literal(table)}\n"
            f"    and runs.status in ({literal(LOADED)}, {literal(SKIPPED)})\n"
            "order by runs.started_at desc, runs.finished_at desc\n"
            "limit 1"
        )
    return (
        f"select {columns}, runs.ingest_date\n"
        f"{_drop_runs_from(schema)}"
        f"    and runs.table_name = {literal(table)}\n"
        f"    and runs.ingest_date = {literal(ingest_date)}\n"
        "order by runs.started_at desc, runs.finished_at desc\n"
        "limit 1"
    )


def drop_loads_sql(schema: str) -> str:
    """Every drop load still in effect, oldest first: (table, ingest_date, source...)."""
    return (
        "select runs.table_name, runs.ingest_date, runs.source_uri, runs.source_bytes,\n"
        "    runs.source_checksum, runs.source_modified_at\n"
        f"{_drop_runs_from(schema)}"
        "order by runs.started_at, runs.finished_at"
    )


def _drop_runs_from(schema: str) -> str:
    """FROM/WHERE of the good drop runs not undone by a later full load of their table."""
    audit = qualified(schema, AUDIT_TABLE)
    # A join on a grouped subquery rather than a correlated one: Redshift limits those.
    return (
        f"from {audit} as runs\n"
        "left join (\n"
        "    select table_name, max(started_at) as started_at\n"
        f"    from {audit}\n"
        f"    where ingest_date is null and status = {literal(LOADED)}\n"
        "    group by table_name\n"
        ") as full_loads\n"
        "    on runs.table_name = full_loads.table_name\n"
        "where runs.ingest_date is not null\n"
        f"    and runs.status in ({literal(LOADED)}, {literal(SKIPPED)})\n"
        "    and (full_loads.started_at is null or runs.started_at > full_loads.started_at)\n"
    )


@dataclass(frozen=True)
class LastGood:
    source_uri: str | None
    source_bytes: int | None
    source_checksum: str | None
    source_modified_at: datetime | None
    ingest_date: date | None = None


@dataclass(frozen=True)
class DropLoad:
    """A drop of one table that is loaded (what ``drop_loads_sql`` returns per row)."""

    table_name: str
    ingest_date: date
    source_uri: str | None
    source_bytes: int | None
    source_checksum: str | None
    source_modified_at: datetime | None
