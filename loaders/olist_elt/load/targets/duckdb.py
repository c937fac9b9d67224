"""DuckDB target: read_csv on a local file, the fastest path DuckDB has.

Each file is first streamed once through the checker (header, UTF-8, CSV-aware
row count; sha256 for local files). S3 objects are downloaded to a temporary file
during that same pass (DuckDB cannot reach S3 here: no httpfs), then read locally.

Atomicity: ``create or replace table ... as select ... from read_csv(...)`` inside
one transaction with the audit row. DuckDB views bind to table names when queried,
so a view on a raw table keeps working across the replace; a failure rolls back to
the previous table.

One writer: DuckDB locks the database file for the process that opens it, so a second
loader (or a dbt run, or a notebook) on the same file fails to connect; the error says
which process holds it (``lock_wait`` retries for a while first).

A daily drop (``job.ingest_date``) instead deletes that day's rows and inserts the
file's, in the same kind of transaction.
"""

from __future__ import annotations

import contextlib
import logging
import re
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

from olist_elt.errors import LoadError, TargetError
from olist_elt.load import faults
from olist_elt.load.sources import LocalSource, SourceFile
from olist_elt.load.sql import ident, literal
from olist_elt.load.targets.base import (
    AuditRowFor,
    CheckedStream,
    Loaded,
    TableJob,
    Target,
    field_count_error,
    short_engine_message,
)

log = logging.getLogger(__name__)

_LOCK_HOLDER = re.compile(r"Conflicting lock is held in (?P<program>.*?) \(PID (?P<pid>\d+)\)")
LOCK_RETRY_SECONDS = 0.2
# DuckDB keeps what it writes in its buffer pool, up to 80% of RAM by default, so the
# loader's memory followed the data (about 0.4 GB at scale 1, 2 GB at scale 10). Row groups
# are written to the database file as the CSV is read, so a small pool keeps the peak flat
# without slowing the load.
LOADER_MEMORY_LIMIT = "256MB"


def read_csv_sql(paths: str | Sequence[str], gzip: bool, columns: Sequence[str]) -> str:
    """read_csv of the spec's columns, all varchar, strict: what the loader (and replay) read."""
    if isinstance(paths, str):
        files = literal(paths)
    else:  # several files with the same header: one scan
        files = "[" + ", ".join(literal(p) for p in paths) + "]"
    types = ", ".join(f"{literal(c)}: 'varchar'" for c in columns)
    return (
        f"read_csv({files}, header = true, auto_detect = false, delim = ',', "
        f"quote = '\"', escape = '\"', strict_mode = true, null_padding = false, "
        f"compression = {literal('gzip' if gzip else 'none')}, columns = {{{types}}})"
    )


class DuckDBTarget(Target):
    kind = "duckdb"
    run_lock = True  # the file lock, held from connect() to close()
    reports_duplicate_keys = True
    text_type = "varchar"
    lineage_types: ClassVar[dict[str, str]] = {
        "_source_file": "varchar",
        "_loaded_at": "timestamp",
        "_load_id": "varchar",
        "_ingest_date": "date",
    }

    _memory_limit: str | None = None  # the instance's limit before the loader's cap

    @property
    def path(self) -> str:
        return str(self.profile.settings.get("path") or ":memory:")

    def _connect(self) -> Any:
        import duckdb

        if self.path != ":memory:":
            try:
                Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise TargetError(
                    f"cannot create the folder of DuckDB database {self.path}: {exc.strerror}"
                ) from None
        connection = self._connect_waiting_for_lock(duckdb)
        # The limit belongs to the database instance, which dbt shares when it has the same
        # file open in this process (olist daily): it is put back on close. An in-memory
        # database holds its tables in the pool: no cap there.
        if self.path != ":memory:":
            self._memory_limit = connection.execute(
                "select current_setting('memory_limit')"
            ).fetchone()[0]
            connection.execute(f"set memory_limit = {literal(LOADER_MEMORY_LIMIT)}")
        return connection

    def _connect_waiting_for_lock(self, duckdb: Any) -> Any:
        deadline = time.monotonic() + self.lock_wait
        while True:
            try:
                return duckdb.connect(self.path)
            except duckdb.Error as exc:
                holder = _LOCK_HOLDER.search(str(exc))
                if holder is None:
                    raise TargetError(
                        f"cannot open DuckDB database {self.path}: {short_engine_message(exc)}"
                    ) from None
                if time.monotonic() >= deadline:
                    waited = f" after waiting {self.lock_wait:g} s" if self.lock_wait else ""
                    raise TargetError(
                        f"DuckDB database {self.path} is in use by another process (PID "
                        f"{holder['pid']}, {Path(holder['program']).name}){waited}: DuckDB "
                        "allows one writing process, so another olist-load, dbt run or "
                        "notebook must finish first (--lock-wait SECONDS waits for it); "
                        "nothing was loaded"
                    ) from None
                time.sleep(LOCK_RETRY_SECONDS)

    def lock(self) -> None:
        faults.checkpoint("run.locked")  # connect() took the file lock

    def close(self) -> None:
        if self._connection is not None and self._memory_limit is not None:
            # Checkpoint under the cap: closing checkpoints too, but after the limit is back
            # it did so with the whole table in memory (1.7 GB at scale 10).
            for sql in ("checkpoint", f"set memory_limit = {literal(self._memory_limit)}"):
                try:
                    self._connection.execute(sql)
                except Exception as exc:  # closing anyway; the next connection sets its own
                    log.debug("%s: %s", sql, exc)
        self._memory_limit = None
        super().close()

    def _run(self, sql: str) -> list[tuple[Any, ...]] | None:
        cursor = self._connection.execute(sql)
        return cursor.fetchall() if cursor.description else None

    def select_sql(self, job: TableJob, source_file: SourceFile, path: str) -> str:
        columns = job.files.spec.column_names
        lineage = self.lineage_values(job, source_file.uri)
        select_list = [ident(c) for c in columns]
        select_list += [f"{value} as {ident(name)}" for name, value in lineage.items()]
        items = ",\n    ".join(select_list)
        return f"select\n    {items}\nfrom {read_csv_sql(path, source_file.gzip, columns)}"

    def load_table(self, job: TableJob, audit_row_for: AuditRowFor) -> Loaded:
        local = isinstance(job.source, LocalSource)
        # Only S3 objects need a local copy for read_csv.
        scratch_dir = (
            contextlib.nullcontext("")
            if local
            else tempfile.TemporaryDirectory(prefix="olist-load-")
        )
        with scratch_dir as scratch:
            paths, rows_read, checksums = [], 0, []
            for index, source_file in enumerate(job.files.files):
                # The copy's name is ours, not the object's: no key can point it elsewhere.
                copy = f"{index}.csv" + (".gz" if source_file.gzip else "")
                path = source_file.uri if local else str(Path(scratch) / copy)
                paths.append(path)
                if self.dry_run:
                    continue
                if local:
                    stream = CheckedStream(
                        job.source, source_file, job.files.spec.column_names, hash_bytes=True
                    )
                    stats = stream.drain()
                else:
                    with open(path, "wb") as sink:
                        stream = CheckedStream(
                            job.source, source_file, job.files.spec.column_names, sink=sink
                        )
                        stats = stream.drain()
                rows_read += stats.data_rows
                checksums.append(stream.checksum)

            selects = "\nunion all\n".join(
                self.select_sql(job, f, p) for f, p in zip(job.files.files, paths, strict=True)
            )
            relation = self.relation(job.table)
            if job.ingest_date is not None:
                self.ensure_drop_table(job)
            self.execute("begin")
            try:
                try:
                    if job.ingest_date is None:
                        result = self.execute(f"create or replace table {relation} as\n{selects}")
                        faults.checkpoint("table.swap")
                    else:
                        self.execute(self.delete_drop_sql(job))
                        columns = ", ".join(ident(n) for n, _ in self.raw_columns(job))
                        result = self.execute(f"insert into {relation} ({columns})\n{selects}")
                except LoadError:
                    raise
                except Exception as exc:
                    message = short_engine_message(exc)
                    columns = len(job.files.spec.columns)
                    raise TargetError(
                        field_count_error(job.files.uri, columns, message)
                        or f"DuckDB could not load {job.files.uri} into {job.table}: {message}"
                    ) from exc
                rows_loaded = int(result[0][0]) if result else 0
                loaded = self.verify_and_commit(
                    job, rows_read, rows_loaded, checksums, audit_row_for
                )
            except BaseException:
                self.rollback()
                raise
        return loaded
