"""Load the nine Olist files into the raw schema of a warehouse: ``load()``.

For each table of the spec: find its file(s) in the source, skip it when the
source is unchanged since the table's last good load (unless ``force``), else
stream-validate and load it atomically with its audit row. Tables are
independent: one failure does not stop the others, and ``report.ok`` is False.

Unchanged check (local files): the previous run stored size, checksum, path and
mtime. Same path, size and mtime means unchanged without reading the file, so a
no-op run costs a few catalog queries whatever the data size (hashing is about
0.5 ms/MB here, so ~65 ms at scale 1 but growing with the data, and slower on
cold caches). When only the mtime or path differs and the size matches, the file
is hashed and compared: a copied or touched file with the same bytes is still
skipped. S3 objects compare ETag and size from the listing (no download). A
successful load hashes local files during its validation pass anyway.

PostgreSQL loads two tables at a time on two connections (the server parses
each COPY in its own backend, so this uses both cores of a small machine);
DuckDB parallelises inside read_csv and loads one table at a time.

One run at a time per target: the run first takes the target's lock (DuckDB's file lock,
a PostgreSQL advisory lock), so a second loader fails with a clear message (or waits
``lock_wait`` seconds), then writes its run row in the audit table (see audit.py): a run
killed part way leaves that row ``started``, and the next run marks it ``interrupted``.
Each table's own transaction keeps it whole, so a killed run leaves every table either
as it was or fully loaded. ``olist_elt.load.faults`` names the checkpoints the crash tests use.

Daily drops (``olist_elt.daily.drop_load.load_drops``) reuse the per-table steps here with a
report per drop whose ``ingest_date`` is set: the unchanged check then looks at that
drop's previous load, and the target appends the day instead of replacing the table.
"""

from __future__ import annotations

import logging
import queue
import secrets
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from olist_elt.errors import ConfigError, LoadError, TargetError
from olist_elt.load import audit, faults
from olist_elt.load.sources import Source, TableFiles, open_source, sha256_files
from olist_elt.load.targets import make_target
from olist_elt.load.targets.base import Loaded, TableJob, Target, short_engine_message
from olist_elt.profiles import read_target
from olist_elt.spec import DEFAULT_RAW_SCHEMA, LINEAGE_COLUMNS, OLIST_FILES, OlistFile, by_table

log = logging.getLogger(__name__)

__all__ = ["LoadReport", "TableResult", "load"]


@dataclass
class TableResult:
    table: str
    source_uri: str | None = None
    rows_read: int = 0
    rows_loaded: int = 0
    bytes: int = 0
    seconds: float = 0.0
    status: str = audit.FAILED  # loaded | skipped | failed | planned
    error: str | None = None
    warning: str | None = None  # loaded, but with something to look at (duplicate keys)


@dataclass
class LoadReport:
    load_id: str
    schema: str
    target: str  # profile output name
    target_type: str  # duckdb | postgres | redshift
    source: str
    dry_run: bool = False
    tables: list[TableResult] = field(default_factory=list)
    statements: list[str] = field(default_factory=list)
    seconds: float = 0.0
    ingest_date: date | None = None  # the drop's day; None for a full load

    @property
    def ok(self) -> bool:
        return bool(self.tables) and all(t.status != audit.FAILED for t in self.tables)

    def count(self, status: str) -> int:
        return sum(1 for t in self.tables if t.status == status)

    def summary(self) -> str:
        rows = sum(t.rows_loaded for t in self.tables)
        megabytes = sum(t.bytes for t in self.tables if t.status != audit.SKIPPED) / 1e6
        parts = [f"{self.count(s)} {s}" for s in (audit.LOADED, audit.SKIPPED, audit.PLANNED)]
        parts.append(f"{self.count(audit.FAILED)} failed")
        day = f"drop {self.ingest_date}: " if self.ingest_date else ""
        return (
            f"{day}{', '.join(p for p in parts if not p.startswith('0 ') or 'failed' in p)}: "
            f"{rows:,} rows, {megabytes:.1f} MB in {self.seconds:.2f} s "
            f"into {self.target_type} schema {self.schema} (load id {self.load_id})"
        )


def load(
    source: str,
    target: str | None = None,
    profiles_dir: str | None = None,
    schema: str = DEFAULT_RAW_SCHEMA,
    force: bool = False,
    dry_run: bool = False,
    endpoint_url: str | None = None,
    tables: Sequence[str] | None = None,
    *,
    iam_role_arn: str | None = None,
    region: str | None = None,
    on_table: Callable[[TableResult], None] | None = None,
    lock_wait: float = 0.0,
) -> LoadReport:
    """Load the files of ``source`` into ``schema`` of the profile output ``target``.

    Raises ConfigError for a wrong profile, target or table name (nothing loaded);
    every other problem is reported per table in the returned report.
    ``on_table`` is called with each table's result as soon as it is known.
    ``lock_wait``: seconds to wait while another loader holds the target, then fail.
    """
    clock = time.perf_counter()
    specs = _select(tables)
    profile = read_target(profiles_dir, target)
    warehouse = make_target(
        profile, schema, dry_run=dry_run, iam_role_arn=iam_role_arn, region=region
    )
    started = _utcnow()
    load_id = new_load_id(started)
    report = LoadReport(
        load_id=load_id,
        schema=schema,
        target=profile.name,
        target_type=profile.type,
        source=source,
        dry_run=dry_run,
        statements=warehouse.statements,
    )
    run = _Run(report, force=force, loaded_at=started, on_table=on_table)
    warehouse.lock_wait = lock_wait
    connections = [warehouse]
    try:
        try:
            reader = open_source(source, endpoint_url)
            resolved = reader.resolve(specs)
            warehouse.connect()
            warehouse.lock()
            warehouse.prepare()
            warehouse.start_run(run_row(load_id, source, started))
            workers = 1 if dry_run else max(1, min(warehouse.parallel_tables, len(specs)))
            for _ in range(workers - 1):
                connections.append(
                    make_target(profile, schema, iam_role_arn=iam_role_arn, region=region)
                )
                connections[-1].connect()
        except Exception as exc:  # no source listing or no warehouse: every table fails
            error = exc if isinstance(exc, LoadError) else setup_error(warehouse, exc)
            log.error("%s", error)
            for spec in specs:
                run.finish(TableResult(table=spec.table, error=str(error)), record=False)
            return report
        if len(connections) == 1:
            for spec in specs:
                run.table(warehouse, reader, spec, resolved[spec.table])
        else:
            run.in_parallel(connections, reader, specs, resolved)
        finish_run(warehouse, load_id, report.tables)
    finally:
        for connection in connections:
            connection.close()
        order = {spec.table: index for index, spec in enumerate(specs)}
        report.tables.sort(key=lambda t: order[t.table])
        report.seconds = time.perf_counter() - clock
    return report


def setup_error(warehouse: Target, exc: Exception) -> TargetError:
    """The engine refused the run's first statements (read-only database, disk full...)."""
    return TargetError(
        f"{warehouse.kind} refused to prepare schema {warehouse.schema} for the load: "
        f"{short_engine_message(exc)}; nothing was loaded"
    )


def run_row(load_id: str, source: str, started: datetime) -> audit.AuditRow:
    """The audit row of the run as a whole, written ``started`` before its first table."""
    return audit.AuditRow(
        load_id=load_id,
        table_name=audit.RUN_TABLE,
        source_uri=source,
        source_bytes=None,
        source_checksum=None,
        source_modified_at=None,
        rows_read=None,
        rows_loaded=None,
        started_at=started,
        finished_at=None,
        status=audit.STARTED,
    )


def finish_run(warehouse: Target, load_id: str, results: Sequence[TableResult]) -> None:
    """Mark the run row finished (or failed, naming the failed tables)."""
    failed = [r.table for r in results if r.status == audit.FAILED]
    try:
        warehouse.finish_run(
            load_id,
            audit.FAILED if failed else audit.FINISHED,
            sum(r.rows_loaded for r in results),
            f"{len(failed)} table(s) failed: {', '.join(failed)}" if failed else None,
        )
    except Exception as exc:  # the tables are committed; only the run row is stale
        log.warning("could not mark load run %s finished: %s", load_id, exc)


def _duplicates_warning(warehouse: Target, job: TableJob) -> str | None:
    try:
        values, extra = warehouse.duplicate_keys(job)
    except Exception as exc:  # the table is committed: a failed check is not a failed load
        log.warning("could not count duplicate keys in %s: %s", job.table, exc)
        return None
    if not values:
        return None
    spec = job.files.spec
    message = (
        f"{job.files.uri}: {values:,} values of the primary key ({', '.join(spec.primary_key)}) "
        f"occur more than once ({extra:,} extra rows); loaded as they are, the staging "
        f"tests (unique {spec.staging_model}) will fail"
    )
    log.warning("%s", message)
    return message


def _select(tables: Sequence[str] | None) -> list[OlistFile]:
    if not tables:
        return list(OLIST_FILES)
    try:
        return [by_table(name) for name in tables]
    except KeyError as exc:
        raise ConfigError(exc.args[0]) from None


def _utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def new_load_id(started: datetime) -> str:
    """Sorts by start time (to the second), unique thanks to the random suffix."""
    return f"{started:%Y%m%dT%H%M%S}Z-{secrets.token_hex(4)}"


class _Run:
    """The per-table steps of one load() call (or of one drop).

    ``previous`` holds each table's last good load when the caller fetched them already
    (load_drops: one audit query per run instead of one per drop and table).
    """

    def __init__(
        self,
        report: LoadReport,
        *,
        force: bool,
        loaded_at: datetime,
        on_table: Callable[[TableResult], None] | None,
        previous: Mapping[str, audit.LastGood] | None = None,
    ) -> None:
        self.report = report
        self.force = force
        self.loaded_at = loaded_at
        self.on_table = on_table
        self.previous = previous

    def in_parallel(
        self,
        connections: list[Target],
        reader: Source,
        specs: list[OlistFile],
        resolved: dict[str, TableFiles | LoadError],
    ) -> None:
        """Load tables on several connections at once, largest first."""
        idle: queue.SimpleQueue[Target] = queue.SimpleQueue()
        for connection in connections:
            idle.put(connection)

        def task(spec: OlistFile) -> None:
            warehouse = idle.get()
            try:
                self.table(warehouse, reader, spec, resolved[spec.table])
            finally:
                idle.put(warehouse)

        def size(spec: OlistFile) -> int:
            files = resolved[spec.table]
            return files.size if isinstance(files, TableFiles) else 0

        with ThreadPoolExecutor(len(connections), thread_name_prefix="olist-load") as pool:
            for future in [pool.submit(task, s) for s in sorted(specs, key=size, reverse=True)]:
                future.result()

    def table(
        self, warehouse: Target, reader: Source, spec: OlistFile, files: TableFiles | LoadError
    ) -> None:
        faults.checkpoint("table.start")
        clock = time.perf_counter()
        started = _utcnow()
        if isinstance(files, LoadError):
            result = TableResult(table=spec.table, error=str(files))
            self.finish(result, started=started, clock=clock, warehouse=warehouse)
            return
        result = TableResult(table=spec.table, source_uri=files.uri, bytes=files.size)
        try:
            if not self.force and not self.report.dry_run:
                checksum = self._unchanged(warehouse, reader, files)
                if checksum is not None:
                    result.status = audit.SKIPPED
                    self.finish(
                        result, files, checksum=checksum, started=started, clock=clock,
                        warehouse=warehouse,
                    )  # fmt: skip
                    return
            job = TableJob(
                files=files,
                source=reader,
                load_id=self.report.load_id,
                loaded_at=self.loaded_at,
                ingest_date=self.report.ingest_date,
            )

            def audit_row_for(loaded: Loaded) -> audit.AuditRow:
                return self._audit_row(
                    result,
                    files,
                    started,
                    audit.LOADED,
                    loaded.checksum,
                    loaded.rows_read,
                    loaded.rows_loaded,
                )

            loaded = warehouse.load_table(job, audit_row_for)
            if spec.primary_key and warehouse.reports_duplicate_keys and not self.report.dry_run:
                result.warning = _duplicates_warning(warehouse, job)
        except Exception as exc:
            if isinstance(exc, LoadError):
                result.error = str(exc)
            else:  # a driver error we did not anticipate: still one line, file and table named
                log.debug("unexpected error loading %s", spec.table, exc_info=True)
                result.error = (
                    f"loading {files.uri} into table {spec.table} failed: "
                    f"{type(exc).__name__}: {short_engine_message(exc)}"
                )
            self.finish(result, files, started=started, clock=clock, warehouse=warehouse)
            return
        result.status = audit.PLANNED if self.report.dry_run else audit.LOADED
        result.rows_read = loaded.rows_read or 0
        result.rows_loaded = loaded.rows_loaded or 0
        self.finish(result, files, started=started, clock=clock, record=False)

    def _unchanged(self, warehouse: Target, reader: Source, files: TableFiles) -> str | None:
        """The checksum when the source matches the table's (drop's) last good load, else None."""
        ingest_date = self.report.ingest_date
        if self.previous is not None:
            previous = self.previous.get(files.spec.table)
        else:
            previous = warehouse.last_good(files.spec.table, ingest_date)
        if previous is None or previous.source_bytes != files.size:
            return None
        if ingest_date is None and previous.ingest_date is not None:
            return None  # a drop was appended since the last full load
        # A table created by an older spec (a lineage column added since) is reloaded whole.
        if warehouse.column_names(files.spec.table) != [*files.spec.column_names, *LINEAGE_COLUMNS]:
            return None
        etag = files.etag_checksum
        if etag is not None:
            return etag if etag == previous.source_checksum else None
        if (
            previous.source_checksum
            and previous.source_uri == files.uri
            and previous.source_modified_at == files.modified_at
        ):
            return previous.source_checksum
        checksum = sha256_files(reader, files.files)
        return checksum if checksum == previous.source_checksum else None

    def _audit_row(
        self,
        result: TableResult,
        files: TableFiles | None,
        started: datetime,
        status: str,
        checksum: str | None,
        rows_read: int | None = None,
        rows_loaded: int | None = None,
    ) -> audit.AuditRow:
        return audit.AuditRow(
            load_id=self.report.load_id,
            table_name=result.table,
            source_uri=result.source_uri,
            source_bytes=files.size if files else None,
            source_checksum=checksum,
            source_modified_at=files.modified_at if files else None,
            rows_read=rows_read,
            rows_loaded=rows_loaded,
            started_at=started,
            finished_at=_utcnow(),
            status=status,
            error=result.error,
            ingest_date=self.report.ingest_date,
        )

    def finish(
        self,
        result: TableResult,
        files: TableFiles | None = None,
        *,
        checksum: str | None = None,
        started: datetime | None = None,
        clock: float | None = None,
        record: bool = True,
        warehouse: Target | None = None,
    ) -> None:
        """Time the table, write its audit row (failures and skips) and report it."""
        if clock is not None:
            result.seconds = time.perf_counter() - clock
        if record and warehouse is not None and started is not None and not self.report.dry_run:
            row = self._audit_row(result, files, started, result.status, checksum)
            try:
                warehouse.record(row)
            except Exception as exc:
                log.warning("could not write the audit row for %s: %s", result.table, exc)
        if result.error:
            log.error("%s: %s", result.table, result.error)
        self.report.tables.append(result)
        if self.on_table is not None:
            self.on_table(result)
