"""What every warehouse target does, and the streaming pass they share.

A target runs SQL text it renders itself (``execute``); in a dry run it only
collects that text, so ``--dry-run`` prints exactly what a real run executes on
the success path, without connecting. Each target loads one table in one
transaction: the data, the row-count check and the audit row commit together or
not at all.

A job with an ``ingest_date`` is a daily drop: instead of replacing the table, the
target deletes that day's rows and inserts the file's (so loading a drop again, or a
corrected drop, never duplicates rows), in the same kind of transaction. The raw table
is created when missing; a table from before daily drops gets its ``_ingest_date``.
"""

from __future__ import annotations

import hashlib
import logging
import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, BinaryIO, ClassVar

from olist_elt.errors import TargetError
from olist_elt.load import audit, faults
from olist_elt.load.csvcheck import CsvChecker, CsvStats
from olist_elt.load.sources import Source, SourceFile, TableFiles, combine_checksums, decompressed
from olist_elt.load.sql import ident, literal, qualified
from olist_elt.profiles import TargetProfile
from olist_elt.spec import LINEAGE_COLUMNS

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TableJob:
    """Everything a target needs to load one table."""

    files: TableFiles
    source: Source
    load_id: str
    loaded_at: datetime  # value of _loaded_at (UTC)
    ingest_date: date | None = None  # a daily drop's day: append; None: replace the table

    @property
    def table(self) -> str:
        return self.files.spec.table


@dataclass(frozen=True)
class Loaded:
    """What a successful table load measured."""

    rows_read: int | None  # CSV-aware count of the streaming pass (None in a dry run)
    rows_loaded: int | None  # what the engine reports it loaded
    checksum: str | None  # sha256 (local) or ETag (S3) of the stored bytes


AuditRowFor = Callable[[Loaded], audit.AuditRow]


class Target(ABC):
    """One warehouse connection (none in a dry run) and the SQL it runs there."""

    kind: ClassVar[str]
    # Tables load() may load at once, each on its own connection of this class.
    parallel_tables: ClassVar[int] = 1
    # Redshift string literals treat backslash as an escape character.
    backslash_escapes: ClassVar[bool] = False
    # Column types of the raw tables: every file column is text_type, then the lineage.
    text_type: ClassVar[str] = "text"
    lineage_types: ClassVar[dict[str, str]] = {
        "_source_file": "text",
        "_loaded_at": "timestamp",
        "_load_id": "text",
        "_ingest_date": "date",
    }

    # Whether loads count duplicate primary keys (a warning). DuckDB's hash aggregate costs
    # next to nothing; on PostgreSQL the extra scan measured +20-30 % of the load's time,
    # so there the staging models' unique tests are what catches duplicates.
    reports_duplicate_keys: ClassVar[bool] = False
    # Whether the target can hold a lock for the whole run (run rows and "interrupted" need it).
    run_lock: ClassVar[bool] = False

    def __init__(self, profile: TargetProfile, schema: str, *, dry_run: bool = False) -> None:
        self.profile = profile
        self.schema = schema
        self.dry_run = dry_run
        # Seconds to wait for another loader's lock before failing (0: fail at once).
        self.lock_wait = 0.0
        self.statements: list[str] = []
        self._connection: Any = None
        self._drop_tables_ready: set[str] = set()

    # --- connection and statements -------------------------------------------------------

    def connect(self) -> None:
        if not self.dry_run and self._connection is None:
            self._connection = self._connect()

    def close(self) -> None:
        if self._connection is not None:
            try:
                self._connection.close()
            finally:
                self._connection = None

    @abstractmethod
    def _connect(self) -> Any: ...

    @abstractmethod
    def _run(self, sql: str) -> list[tuple[Any, ...]] | None:
        """Execute one statement; return its rows when it has a result set."""

    def execute(self, sql: str) -> list[tuple[Any, ...]] | None:
        self.statements.append(sql)
        if self.dry_run:
            return None
        log.debug("%s: %s", self.kind, sql)
        return self._run(sql)

    def rollback(self) -> None:
        """Abandon the open transaction, if any (not part of the printed plan)."""
        if self.dry_run or self._connection is None:
            return
        try:
            self._run("rollback")
        except Exception as exc:  # no transaction open: nothing to undo
            log.debug("rollback: %s", exc)

    def lit(self, value: object) -> str:
        return literal(value, backslash_escapes=self.backslash_escapes)

    def relation(self, table: str) -> str:
        return qualified(self.schema, table)

    # --- run-level steps -------------------------------------------------------------------

    def prepare(self) -> None:
        """Create the raw schema and the audit table when missing."""
        self.execute(f"create schema if not exists {ident(self.schema)}")
        self.execute(audit.create_table_sql(self.schema))
        self.upgrade_audit_table()

    def upgrade_audit_table(self) -> None:
        """Add the columns an older audit table lacks."""
        self.execute(audit.add_ingest_date_sql(self.schema))

    def last_good(self, table: str, ingest_date: date | None = None) -> audit.LastGood | None:
        rows = self.execute(audit.last_good_sql(self.schema, table, ingest_date))
        return audit.LastGood(*rows[0]) if rows else None

    def drop_loads(self) -> list[audit.DropLoad]:
        """Every drop of every table loaded since that table's last full load."""
        rows = self.execute(audit.drop_loads_sql(self.schema))
        return [audit.DropLoad(*row) for row in rows or []]

    def table_exists(self, table: str) -> bool:
        rows = self.execute(
            "select count(*) from information_schema.tables\n"
            f"where table_schema = {self.lit(self.schema)} and table_name = {self.lit(table)}"
        )
        return bool(rows and rows[0][0])

    def existing_relations(self, schemas: set[str]) -> set[tuple[str, str]]:
        """(schema, name), lower case, of every table and view in these schemas."""
        if not schemas:
            return set()
        listed = ", ".join(self.lit(schema) for schema in sorted(schemas))
        rows = self.execute(
            "select lower(table_schema), lower(table_name) from information_schema.tables\n"
            f"where lower(table_schema) in ({listed})"
        )
        return {(row[0], row[1]) for row in rows or []}

    def record(self, row: audit.AuditRow) -> None:
        """Write an audit row on its own (failed or skipped tables)."""
        self.execute(audit.insert_sql(self.schema, row, backslash_escapes=self.backslash_escapes))

    # --- run bookkeeping: the lock and the run row (not part of the printed plan) -----------

    def lock(self) -> None:
        """Hold the target's load lock until close(); TargetError when another loader has it.

        DuckDB: the database file's own lock, taken by connect(). PostgreSQL: an advisory
        lock per schema. Redshift has neither, and does nothing here.
        """
        return

    def _bookkeeping(self, sql: str) -> list[tuple[Any, ...]] | None:
        log.debug("%s: %s", self.kind, sql)
        return self._run(sql)

    def start_run(self, row: audit.AuditRow) -> list[str]:
        """Write the run row (status ``started``), first marking as ``interrupted`` the runs
        that started and never finished (their process died: we hold the lock, so none of
        them is still running). Returns the ids of those interrupted runs."""
        if self.dry_run or not self.run_lock:
            return []
        rows = self._bookkeeping(audit.unfinished_runs_sql(self.schema))
        interrupted = [str(r[0]) for r in rows or []]
        if interrupted:
            log.warning(
                "earlier load run(s) %s never finished (killed or crashed): marked interrupted "
                "in %s; tables they did not commit keep their previous contents",
                ", ".join(interrupted),
                self.relation(audit.AUDIT_TABLE),
            )
            self._bookkeeping(audit.mark_interrupted_sql(self.schema, row.load_id))
        self._bookkeeping(
            audit.insert_sql(self.schema, row, backslash_escapes=self.backslash_escapes)
        )
        faults.checkpoint("run.started")
        return interrupted

    def finish_run(
        self, load_id: str, status: str, rows_loaded: int, error: str | None = None
    ) -> None:
        if self.dry_run or not self.run_lock or self._connection is None:
            return
        faults.checkpoint("run.finishing")
        self._bookkeeping(
            audit.finish_run_sql(
                self.schema,
                load_id,
                status,
                rows_loaded,
                error,
                backslash_escapes=self.backslash_escapes,
            )
        )

    @abstractmethod
    def load_table(self, job: TableJob, audit_row_for: AuditRowFor) -> Loaded:
        """Replace the table's contents (a drop: that day's rows) atomically; raise LoadError."""

    def duplicate_keys(self, job: TableJob) -> tuple[int, int]:
        """(key values loaded more than once, rows beyond the first of each) by this job.

        Raw tables keep a file as it is, duplicates included (staging's unique tests
        catch them); the loader only reports them.
        """
        key = ", ".join(ident(c) for c in job.files.spec.primary_key)
        rows = self.execute(
            "select count(*), coalesce(sum(copies - 1), 0) from (\n"
            f"    select count(*) as copies from {self.relation(job.table)}\n"
            f"    where _load_id = {self.lit(job.load_id)}\n"
            f"    group by {key}\n"
            "    having count(*) > 1\n"
            ") as duplicated"
        )
        return (int(rows[0][0]), int(rows[0][1])) if rows else (0, 0)

    # --- raw tables for daily drops -----------------------------------------------------------

    def raw_columns(self, job: TableJob) -> list[tuple[str, str]]:
        columns = [(name, self.text_type) for name in job.files.spec.column_names]
        return columns + [(name, self.lineage_types[name]) for name in LINEAGE_COLUMNS]

    def create_raw_sql(self, job: TableJob) -> str:
        items = ",\n".join(f"    {ident(n)} {t}" for n, t in self.raw_columns(job))
        return f"create table if not exists {self.relation(job.table)} (\n{items}\n)"

    def column_names(self, table: str) -> list[str] | None:
        """The table's columns in order ([] when it does not exist; None in a dry run)."""
        rows = self.execute(
            "select column_name from information_schema.columns\n"
            f"where table_schema = {self.lit(self.schema)} and table_name = {self.lit(table)}\n"
            "order by ordinal_position"
        )
        return None if rows is None else [str(r[0]) for r in rows]

    def ensure_drop_table(self, job: TableJob) -> None:
        """Before appending a drop: the raw table exists with the spec's columns.

        A table loaded before daily drops existed lacks only ``_ingest_date``: it is added
        (its rows came from a full load, so null is right). Any other difference is an
        error: appending must not drop a table, and a full load recreates it.
        """
        if job.table in self._drop_tables_ready:
            return
        expected = [name for name, _ in self.raw_columns(job)]
        found = self.column_names(job.table)
        if not found:
            self.execute(self.create_raw_sql(job))
        elif found == expected[:-1] and expected[-1] == "_ingest_date":
            log.warning("%s: adding the _ingest_date column", self.relation(job.table))
            self.execute(
                f"alter table {self.relation(job.table)} add column _ingest_date "
                f"{self.lineage_types['_ingest_date']}"
            )
        elif found != expected:
            raise TargetError(
                f"cannot append the drop of {job.ingest_date} to {self.relation(job.table)}: "
                f"its columns [{', '.join(found)}] differ from the spec's "
                f"[{', '.join(expected)}]; a full load (olist load <folder>) recreates it"
            )
        self._drop_tables_ready.add(job.table)

    def delete_drop_sql(self, job: TableJob) -> str:
        """Loading a day again replaces that day's rows: idempotent, and a correction wins."""
        return (
            f"delete from {self.relation(job.table)} "
            f"where _ingest_date = {self.lit(job.ingest_date)}"
        )

    # --- helpers for the engines -------------------------------------------------------------

    def verify_and_commit(
        self,
        job: TableJob,
        rows_read: int,
        rows_loaded: int,
        checksums: list[str | None],
        audit_row_for: AuditRowFor,
    ) -> Loaded:
        """Compare the counts, then commit the table with its audit row (one transaction)."""
        if self.dry_run:
            loaded = Loaded(rows_read=None, rows_loaded=None, checksum=None)
        else:
            self.check_counts(job, rows_read, rows_loaded)
            loaded = Loaded(rows_read, rows_loaded, table_checksum(job.files, checksums))
        faults.checkpoint("table.copied")
        row = audit_row_for(loaded)
        self.execute(audit.insert_sql(self.schema, row, backslash_escapes=self.backslash_escapes))
        faults.checkpoint("table.audit")
        try:
            self.execute("commit")
        except Exception as exc:  # disk full, read-only file...: the transaction is lost
            raise TargetError(
                f"{self.kind} could not commit table {job.table} from {job.files.uri}: "
                f"{short_engine_message(exc)}; the previous contents are kept"
            ) from exc
        faults.checkpoint("table.committed")
        return loaded

    def check_counts(self, job: TableJob, rows_read: int | None, rows_loaded: int | None) -> None:
        if self.dry_run or rows_read == rows_loaded:
            return
        raise TargetError(
            f"row count mismatch for table {job.table} from {job.files.uri}: the file has "
            f"{rows_read:,} data rows (CSV-aware count) but {self.kind} loaded "
            f"{rows_loaded:,}; nothing was replaced (blank lines in the file?)"
        )

    def lineage_values(self, job: TableJob, source_file: str) -> dict[str, str]:
        """SQL literals for _source_file, _loaded_at, _load_id, _ingest_date."""
        values = (source_file, job.loaded_at, job.load_id, job.ingest_date)
        literals = {
            name: self.lit(value) for name, value in zip(LINEAGE_COLUMNS, values, strict=True)
        }
        if job.ingest_date is None:  # typed, or DuckDB's create-as-select guesses integer
            literals["_ingest_date"] = "cast(null as date)"
        return literals


class CheckedStream:
    """A source file's CSV bytes, validated on the way through.

    Iterating (or ``read()``, for psycopg2's copy_expert) yields decompressed chunks;
    each chunk is checked before it is handed on, the stored bytes are hashed when
    asked (local files) and copied to ``sink`` when given (S3 files for DuckDB). At
    the end of the stream the final checks run (unterminated quote, no data rows),
    so a consumer that reads to the end has either a valid file or an exception.
    """

    def __init__(
        self,
        source: Source,
        source_file: SourceFile,
        columns: tuple[str, ...],
        *,
        hash_bytes: bool = False,
        sink: BinaryIO | None = None,
    ) -> None:
        self.source_file = source_file
        self.checker = CsvChecker(source_file.uri, columns)
        self._digest = hashlib.sha256() if hash_bytes else None
        self._sink = sink
        raw = self._tap(source.iter_raw(source_file))
        text = decompressed(raw, source_file.uri) if source_file.gzip else raw
        self._chunks = self._checked(text)
        self.stats: CsvStats | None = None
        self.error: BaseException | None = None  # what read() raised, for copy_expert callers

    def _tap(self, raw: Iterator[bytes]) -> Iterator[bytes]:
        for chunk in raw:
            if self._digest is not None:
                self._digest.update(chunk)
            if self._sink is not None:
                self._sink.write(chunk)
            yield chunk

    def _checked(self, text: Iterator[bytes]) -> Iterator[bytes]:
        for chunk in text:
            self.checker.feed(chunk)
            yield chunk
            faults.checkpoint("stream.chunk")
        self.stats = self.checker.finish()

    def __iter__(self) -> Iterator[bytes]:
        return self._chunks

    def read(self, size: int = -1) -> bytes:
        """File-like read: the next chunk whatever the size asked (b"" at the end)."""
        try:
            return next(self._chunks, b"")
        except BaseException as exc:
            self.error = exc
            raise

    def drain(self) -> CsvStats:
        for _ in self._chunks:
            pass
        assert self.stats is not None
        return self.stats

    @property
    def checksum(self) -> str | None:
        if self._digest is not None:
            return self._digest.hexdigest()
        return self.source_file.etag


def table_checksum(files: TableFiles, checksums: list[str | None]) -> str | None:
    if any(c is None for c in checksums):
        return None
    if len(checksums) == 1:
        return checksums[0]
    return combine_checksums(files.files, checksums)  # type: ignore[arg-type]


_DUCKDB_LINE = re.compile(r"CSV Error on Line: (\d+)")
_DUCKDB_COLUMNS = re.compile(r"Expected Number of Columns: (\d+) Found: (\d+)")
_POSTGRES_LINE = re.compile(r"COPY \S+, line (\d+)")
_POSTGRES_MISSING = re.compile(r'missing data for column "([^"]+)"')


def field_count_error(uri: str, columns: int, message: str) -> str | None:
    """The engine's "wrong number of fields" error, said the same way for every engine.

    None when ``message`` is another error. The engines quote the offending line; the
    message does not (it can be long, and it is the file's content).
    """
    if (line := _DUCKDB_LINE.search(message)) and (counts := _DUCKDB_COLUMNS.search(message)):
        found = int(counts[2])
        return (
            f"{uri}: line {line[1]}: expected {columns} fields (the spec's columns), found {found}"
        )
    line = _POSTGRES_LINE.search(message)
    if line is None:
        return None
    if "extra data after last expected column" in message:
        return f"{uri}: line {line[1]}: expected {columns} fields (the spec's columns), found more"
    if missing := _POSTGRES_MISSING.search(message):
        return (
            f"{uri}: line {line[1]}: expected {columns} fields (the spec's columns), found "
            f"fewer (no value for {missing[1]})"
        )
    return None


def short_engine_message(exc: BaseException, limit: int = 600) -> str:
    """The informative part of a driver's error: no 'possible fixes' boilerplate."""
    lines = []
    for line in str(exc).strip().splitlines():
        if line.strip().lower().startswith(("possible fix", "possible solution", "hint:")):
            break
        if line.strip():
            lines.append(line.strip())
    return " | ".join(lines)[:limit]
