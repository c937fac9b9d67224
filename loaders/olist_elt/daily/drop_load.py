"""Append daily drops to the raw tables: ``load_drops()`` (``olist load --drops``).

A drop is ``<root>/ingest_date=YYYY-MM-DD/`` (see drops.py). Each table file of a drop is
loaded like a full load's file (same validation, one transaction with its audit row),
except that the target replaces only that day's rows (``_ingest_date``) instead of the
table. Drops are loaded oldest first, one table after the other on one connection: a
drop is small, and the per-table cost is a few statements.

Loading a drop again changes nothing: the audit table holds (table, ingest_date,
checksum) and an unchanged file is skipped, as an unchanged file of a full load is
(``force`` reloads it, replacing the day's rows, so never duplicating them). A changed
file (a corrected drop) replaces that day's rows. A full load of a table removes its
drops' rows, and with them the audit's claim that those drops are loaded.

``pending`` leaves out, before any per-table work, every (drop, table) whose file is the
one already loaded (same URI, size and mtime, or same S3 ETag): a daily run with
``pending`` costs one audit query plus the new drops, however many days are in the root.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from datetime import date

from olist_elt.daily.drops import Drop, list_drops
from olist_elt.errors import LoadError, MissingFileError, SourceError
from olist_elt.load import audit
from olist_elt.load.loader import (
    LoadReport,
    TableResult,
    _Run,
    _select,
    _utcnow,
    finish_run,
    new_load_id,
    run_row,
    setup_error,
)
from olist_elt.load.sources import TableFiles
from olist_elt.load.targets import make_target
from olist_elt.load.targets.base import Target
from olist_elt.profiles import read_target
from olist_elt.spec import DEFAULT_RAW_SCHEMA, OLIST_FILES, OlistFile

log = logging.getLogger(__name__)

__all__ = ["load_drops", "select_drops"]


def load_drops(
    drops_root: str,
    dates: Sequence[date] | None = None,
    pending: bool = False,
    target: str | None = None,
    profiles_dir: str | None = None,
    schema: str = DEFAULT_RAW_SCHEMA,
    force: bool = False,
    dry_run: bool = False,
    endpoint_url: str | None = None,
    *,
    date_from: date | None = None,
    date_to: date | None = None,
    tables: Sequence[str] | None = None,
    iam_role_arn: str | None = None,
    region: str | None = None,
    on_table: Callable[[TableResult], None] | None = None,
    on_drop: Callable[[LoadReport], None] | None = None,
    lock_wait: float = 0.0,
) -> list[LoadReport]:
    """Load the drops of ``drops_root`` into ``schema``: one report per drop, oldest first.

    Which drops: ``dates`` (each must exist), else every drop of the root; then only
    those between ``date_from`` and ``date_to`` (inclusive, each optional); with
    ``pending``, only the (drop, table) pairs not loaded yet (a dry run cannot ask the
    warehouse, so it plans every selected drop). ``on_drop`` is called with each drop's
    report before its tables are loaded, ``on_table`` with each table's result.

    Raises ConfigError for a wrong profile, target or table name, and LoadError when
    nothing can be tried (root not listable, a requested date without a drop, warehouse
    unreachable); every other problem is reported per table in the drop's report.
    """
    specs = _select(tables)
    profile = read_target(profiles_dir, target)
    warehouse = make_target(
        profile, schema, dry_run=dry_run, iam_role_arn=iam_role_arn, region=region
    )
    drops = select_drops(list_drops(drops_root, endpoint_url), dates, date_from, date_to)
    started = _utcnow()
    run_id = new_load_id(started)
    reports: list[LoadReport] = []
    warehouse.lock_wait = lock_wait
    try:
        try:
            warehouse.connect()
            warehouse.lock()
            warehouse.prepare()
            warehouse.start_run(run_row(run_id, drops_root, started))
        except LoadError:
            raise
        except Exception as exc:
            raise setup_error(warehouse, exc) from exc
        # What the audit says is loaded; a dry run cannot ask, so it assumes nothing is.
        loaded = None if dry_run else _Loaded(warehouse)
        first_statement = 0
        for drop in drops:
            clock = time.perf_counter()
            present = _present_files(drop, specs)
            if pending and loaded is not None:
                present = {t: f for t, f in present.items() if not loaded.has(drop, f)}
            if not present:
                continue
            report = LoadReport(
                load_id=f"{run_id}-d{drop.ingest_date:%Y%m%d}",
                schema=schema,
                target=profile.name,
                target_type=profile.type,
                source=drop.source.uri,
                dry_run=dry_run,
                ingest_date=drop.ingest_date,
            )
            if on_drop is not None:
                on_drop(report)
            run = _Run(
                report,
                force=force,
                loaded_at=_utcnow(),
                on_table=on_table,
                previous=loaded.previous(drop) if loaded is not None else None,
            )
            for spec in specs:
                if spec.table in present:
                    run.table(warehouse, drop.source, spec, present[spec.table])
            report.statements = warehouse.statements[first_statement:]
            first_statement = len(warehouse.statements)
            report.seconds = time.perf_counter() - clock
            reports.append(report)
        finish_run(warehouse, run_id, [t for r in reports for t in r.tables])
    finally:
        warehouse.close()
    return reports


def select_drops(
    drops: Iterable[Drop],
    dates: Sequence[date] | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
) -> list[Drop]:
    """The drops asked for, oldest first; a requested date without a drop is an error."""
    by_date = {drop.ingest_date: drop for drop in drops}
    if dates:
        if missing := sorted(set(dates) - set(by_date)):
            days = sorted(by_date)
            held = f"{len(days)} drops, {days[0]} to {days[-1]}" if days else "no drops"
            raise SourceError(
                f"no drop for {', '.join(map(str, missing))} "
                f"(expected a folder ingest_date=YYYY-MM-DD; the root holds {held})"
            )
        by_date = {day: by_date[day] for day in dates}
    return [
        by_date[day]
        for day in sorted(by_date)
        if (date_from is None or day >= date_from) and (date_to is None or day <= date_to)
    ]


def _present_files(drop: Drop, specs: Sequence[OlistFile]) -> dict[str, TableFiles | SourceError]:
    """The drop's file(s) of each selected table that has any; errors other than "missing".

    A drop with none of the nine files is not a drop: every selected table is reported
    missing, rather than the day passing silently.
    """
    try:
        resolved = drop.source.resolve(OLIST_FILES)
    except SourceError as exc:  # the drop could not be listed
        return {spec.table: exc for spec in specs}
    if all(isinstance(files, MissingFileError) for files in resolved.values()):
        return {spec.table: resolved[spec.table] for spec in specs}
    return {
        spec.table: resolved[spec.table]
        for spec in specs
        if not isinstance(resolved[spec.table], MissingFileError)
    }


class _Loaded:
    """The drops the audit table says are loaded (one query per run)."""

    def __init__(self, warehouse: Target) -> None:
        self.warehouse = warehouse
        self.by_day: dict[date, dict[str, audit.DropLoad]] = defaultdict(dict)
        for run in warehouse.drop_loads():  # oldest first: the latest wins
            self.by_day[run.ingest_date][run.table_name] = run
        self._tables: dict[str, bool] = {}

    def previous(self, drop: Drop) -> dict[str, audit.LastGood]:
        """Each table's last good load of this drop, as the unchanged check wants it."""
        return {
            table: audit.LastGood(
                source_uri=run.source_uri,
                source_bytes=run.source_bytes,
                source_checksum=run.source_checksum,
                source_modified_at=run.source_modified_at,
                ingest_date=run.ingest_date,
            )
            for table, run in self.by_day.get(drop.ingest_date, {}).items()
        }

    def has(self, drop: Drop, files: TableFiles | SourceError) -> bool:
        """Whether exactly these files were loaded for this drop (and the table is there)."""
        if not isinstance(files, TableFiles):
            return False
        table = files.spec.table
        previous = self.by_day.get(drop.ingest_date, {}).get(table)
        if previous is None or previous.source_bytes != files.size:
            return False
        etag = files.etag_checksum
        if etag is not None:
            same = etag == previous.source_checksum
        else:
            same = (
                previous.source_uri == files.uri
                and previous.source_modified_at == files.modified_at
            )
        if same and table not in self._tables:
            self._tables[table] = self.warehouse.table_exists(table)
        return same and self._tables[table]
