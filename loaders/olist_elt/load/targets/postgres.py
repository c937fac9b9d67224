"""PostgreSQL target: ``COPY ... FROM STDIN`` fed by the checking stream (psycopg2).

Why truncate instead of load-and-swap: the table keeps its identity (OID, grants,
comments), so anything bound to it (PostgreSQL views bind to a table's OID, not
its name: a view a user put on a raw table) stays valid. So one transaction does:
``truncate``; set the lineage columns' defaults to this load's values (COPY fills them
server-side, no per-row work in Python); ``copy``; compare the row count; drop the
defaults; ``analyze``; audit row; commit.
TRUNCATE holds an exclusive lock until commit, so readers see the previous rows
or the new ones, never a part; any error rolls back to the previous contents.

The table is created when missing. When its columns differ from the spec (the
spec changed), it is dropped with ``cascade`` (dependent views go too; dbt
recreates them) and recreated, with a warning in the log.

One loader per schema: the run takes a session-level advisory lock keyed on the schema
name (``pg_try_advisory_lock``) on its first connection. A second loader fails with a
message naming the session holding it (or waits ``lock_wait`` seconds first). The server
releases the lock when the holder's connection ends, even when its process was killed.

A daily drop (``job.ingest_date``) runs the same transaction with ``delete ... where
_ingest_date = <day>`` instead of ``truncate``: that day's rows are replaced, the rest kept.
"""

from __future__ import annotations

import logging
import time
import zlib
from typing import Any

from olist_elt.errors import LoadError, TargetError
from olist_elt.load import audit, faults
from olist_elt.load.sql import ident
from olist_elt.load.targets.base import (
    AuditRowFor,
    CheckedStream,
    Loaded,
    TableJob,
    Target,
    field_count_error,
    short_engine_message,
)
from olist_elt.spec import LINEAGE_COLUMNS

log = logging.getLogger(__name__)

COPY_BUFFER = 1 << 20
_CATALOG_TYPES = {"text": "text", "timestamp": "timestamp without time zone", "date": "date"}
# libpq connection keywords a dbt postgres output may carry.
_CONNECT_KEYS = (
    "host", "port", "user", "password", "dbname", "sslmode", "sslrootcert", "sslcert",
    "sslkey", "connect_timeout", "keepalives_idle", "options",
)  # fmt: skip


# First key of the loader's advisory locks (the second is the schema's crc32): any number
# other programs on the same database are unlikely to use.
LOCK_NAMESPACE = 0x01157
LOCK_RETRY_SECONDS = 0.2


def lock_key(schema: str) -> tuple[int, int]:
    """The two int4 keys of the schema's advisory lock."""
    crc = zlib.crc32(schema.encode("utf-8"))
    return LOCK_NAMESPACE, crc - (1 << 32) if crc >= 1 << 31 else crc


class PostgresTarget(Target):
    kind = "postgres"
    parallel_tables = 2
    run_lock = True

    def _connect(self) -> Any:
        import psycopg2

        settings = dict(self.profile.settings)
        settings.setdefault("dbname", settings.get("database"))
        settings.setdefault("password", settings.get("pass"))
        params = {k: settings[k] for k in _CONNECT_KEYS if settings.get(k) not in (None, "")}
        try:
            connection = psycopg2.connect(application_name="olist-load", **params)
        except psycopg2.Error as exc:
            where = f"{params.get('host')}:{params.get('port')}/{params.get('dbname')}"
            raise TargetError(f"cannot connect to PostgreSQL {where}: {exc}".strip()) from exc
        # Explicit begin/commit statements, so the printed plan is what runs.
        connection.autocommit = True
        # Literals are rendered with doubled quotes only: backslashes must not be escapes.
        with connection.cursor() as cursor:
            cursor.execute("set standard_conforming_strings = on")
            # A login user member of the loader role acts as that role (the profile's `role`,
            # as dbt-postgres does), so the raw tables it creates are the role's, not the
            # user's, and the role's default privileges apply to them (docs/roles.md).
            if role := settings.get("role"):
                cursor.execute(f"set role {ident(str(role))}")
        return connection

    _locked = False

    def close(self) -> None:
        # Unlock explicitly: the server ends a closed session's backend (and frees its
        # locks) a moment after the client has gone, and the next run may already ask.
        if self._locked and self._connection is not None:
            first, second = lock_key(self.schema)
            try:
                self._bookkeeping(f"select pg_advisory_unlock({first}, {second})")
            except Exception as exc:  # the session is gone: so is its lock
                log.debug("unlock: %s", exc)
            self._locked = False
        super().close()

    def lock(self) -> None:
        if self.dry_run:
            return
        first, second = lock_key(self.schema)
        deadline = time.monotonic() + self.lock_wait
        while True:
            rows = self._bookkeeping(f"select pg_try_advisory_lock({first}, {second})")
            if rows and rows[0][0]:
                self._locked = True
                faults.checkpoint("run.locked")
                return
            if time.monotonic() >= deadline:
                break
            time.sleep(LOCK_RETRY_SECONDS)
        holder = self._bookkeeping(
            "select locks.pid, activity.application_name, activity.backend_start\n"
            "from pg_catalog.pg_locks as locks\n"
            "left join pg_catalog.pg_stat_activity as activity on activity.pid = locks.pid\n"
            f"where locks.locktype = 'advisory' and locks.classid = {first}\n"
            f"    and locks.objid = {second & 0xFFFFFFFF} and locks.objsubid = 2 and locks.granted"
        )
        who = (
            f"session pid {holder[0][0]} ({holder[0][1] or 'unnamed'}, connected "
            f"{holder[0][2]:%Y-%m-%d %H:%M:%S})"
            if holder and holder[0][2] is not None
            else "another session"
        )
        waited = f" after waiting {self.lock_wait:g} s" if self.lock_wait else ""
        raise TargetError(
            f"another olist-load is loading schema {self.schema} of PostgreSQL database "
            f"{self.profile.settings.get('dbname') or self.profile.settings.get('database')} "
            f"({who} holds the loader's advisory lock){waited}; try again when it has "
            "finished (--lock-wait SECONDS waits for it); nothing was loaded"
        )

    def prepare(self) -> None:
        # PostgreSQL checks `create schema if not exists` against the database's CREATE
        # privilege before it looks for the schema: a loader role that owns the raw schema
        # but may not create schemas (docs/roles.md) would be refused. Ask first.
        if not self.dry_run:
            rows = self._bookkeeping(
                f"select to_regnamespace({self.lit(ident(self.schema))}) is not null"
            )
            if rows and rows[0][0]:
                self.execute(audit.create_table_sql(self.schema))
                self.upgrade_audit_table()
                return
        super().prepare()

    def _run(self, sql: str) -> list[tuple[Any, ...]] | None:
        with self._connection.cursor() as cursor:
            cursor.execute(sql)
            return cursor.fetchall() if cursor.description else None

    def expected_columns(self, job: TableJob) -> list[tuple[str, str]]:
        return self.raw_columns(job)

    def create_sql(self, job: TableJob) -> str:
        return self.create_raw_sql(job)

    def copy_sql(self, job: TableJob) -> str:
        columns = ", ".join(ident(c) for c in job.files.spec.column_names)
        # force_null: a quoted empty field is NULL too, as in DuckDB and Redshift (EMPTYASNULL).
        return (
            f"copy {self.relation(job.table)} ({columns}) from stdin with "
            f"(format csv, header true, encoding 'UTF8', force_null ({columns}))"
        )

    def _attributes_sql(self, table: str) -> str:
        # pg_catalog rather than information_schema: same answer, a fraction of the time.
        return (
            "select attname::text, format_type(atttypid, atttypmod) from pg_catalog.pg_attribute\n"
            f"where attrelid = to_regclass({self.lit(self.relation(table))})\n"
            "    and attnum > 0 and not attisdropped\n"
            "order by attnum"
        )

    def column_names(self, table: str) -> list[str] | None:
        rows = self.execute(self._attributes_sql(table))
        return None if rows is None else [str(r[0]) for r in rows]

    def _ensure_table(self, job: TableJob) -> None:
        rows = self.execute(self._attributes_sql(job.table))
        expected = [(n, _CATALOG_TYPES[t]) for n, t in self.expected_columns(job)]
        if rows and [tuple(r) for r in rows] != expected:
            log.warning(
                "%s: columns %s differ from the spec %s; dropping it with cascade "
                "(dependent views are dropped; dbt recreates them)",
                self.relation(job.table),
                [r[0] for r in rows],
                [n for n, _ in expected],
            )
            self.execute(f"drop table {self.relation(job.table)} cascade")
        self.execute(self.create_sql(job))

    def load_table(self, job: TableJob, audit_row_for: AuditRowFor) -> Loaded:
        relation = self.relation(job.table)
        columns = job.files.spec.column_names
        copy_sql = self.copy_sql(job)
        if job.ingest_date is not None:
            self.ensure_drop_table(job)
        self.execute("begin")
        try:
            if job.ingest_date is None:
                self._ensure_table(job)
                self.execute(f"truncate table {relation}")
                faults.checkpoint("table.swap")
            else:
                self.execute(self.delete_drop_sql(job))
            rows_read = rows_loaded = 0
            checksums: list[str | None] = []
            for source_file in job.files.files:
                defaults = ",\n".join(
                    f"    alter column {ident(name)} set default {value}"
                    for name, value in self.lineage_values(job, source_file.uri).items()
                )
                self.execute(f"alter table {relation}\n{defaults}")
                self.statements.append(copy_sql)
                if self.dry_run:
                    continue
                stream = CheckedStream(
                    job.source, source_file, columns, hash_bytes=not source_file.etag
                )
                rows_loaded += self._copy(job, copy_sql, stream)
                assert stream.stats is not None
                rows_read += stream.stats.data_rows
                checksums.append(stream.checksum)
            drops = ",\n".join(f"    alter column {ident(n)} drop default" for n in LINEAGE_COLUMNS)
            self.execute(f"alter table {relation}\n{drops}")
            # Planner statistics for the new rows, committed with them: without them
            # PostgreSQL plans dbt's staging queries for a near-empty table
            # (one relationships test on the real set: 12.9 s before, 0.04 s after). Only
            # the key columns, which staging partitions and joins on, from a 3,000-row
            # sample (statistics target 10): row counts and key uniqueness are what the
            # plans need, and this keeps the step to a few milliseconds a table.
            self.execute("set local default_statistics_target = 10")
            self.execute(f"analyze {relation} ({', '.join(map(ident, analyzed_columns(job)))})")
            loaded = self.verify_and_commit(job, rows_read, rows_loaded, checksums, audit_row_for)
        except BaseException:
            self.rollback()
            raise
        return loaded

    def _copy(self, job: TableJob, copy_sql: str, stream: CheckedStream) -> int:
        import psycopg2

        log.debug("postgres: %s", copy_sql)
        try:
            with self._connection.cursor() as cursor:
                cursor.copy_expert(copy_sql, stream, size=COPY_BUFFER)
                return int(cursor.rowcount)
        except psycopg2.Error as exc:
            # An exception raised by our read() (bad file) comes back wrapped: show ours.
            if isinstance(stream.error, LoadError):
                raise stream.error from None
            if stream.error is not None:
                raise TargetError(f"reading {stream.source_file.uri}: {stream.error}") from exc
            message = short_engine_message(exc)
            raise TargetError(
                field_count_error(stream.source_file.uri, len(job.files.spec.columns), message)
                or f"PostgreSQL rejected {stream.source_file.uri} for table {job.table}: {message}"
            ) from exc


def analyzed_columns(job: TableJob) -> tuple[str, ...]:
    """The columns whose statistics the planner needs: the key and the version order."""
    spec = job.files.spec
    key = spec.primary_key or spec.column_names[:1]
    return (*key, "_ingest_date")
