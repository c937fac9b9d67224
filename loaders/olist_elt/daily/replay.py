"""`olist replay`: turn the nine files into daily drops, as if Olist had sent them day by day.

    olist replay data/generated/scale=1-seed=42 data/drops
    olist replay data/olist s3://bucket/drops/ --from 2017-01-01 --to 2017-01-31 --gzip

Writes ``<out>/ingest_date=YYYY-MM-DD/<olist file name>.csv[.gz]`` (a folder, or S3 with
boto3: ``--endpoint-url`` / ``AWS_ENDPOINT_URL``). Each drop holds the rows created or
changed that day, with the spec's header; a table with no row that day has no file in
the drop (the loader reads a missing file as "nothing new", see drops.py), and a day
with no row at all has no drop. Days (all dates, no time zone, as in the files):

- orders: a version on the purchase day, then one on each later day an event happened,
  with the timestamps of events not happened yet empty and the status of that day:
  ``created``, then ``approved`` (order_approved_at), ``shipped`` (carrier handover),
  ``delivered`` (customer delivery). The last version is the source row as it is, so the
  final status (canceled, unavailable, invoiced, processing...) appears on the order's
  last event day. An event dated before the purchase day is published on the purchase day.
- customers (one row per customer_id, i.e. per order): the purchase day of their order.
  A person ordering again from another zip code comes back as a new customer_id row.
- order items, payments: the order's purchase day.
- reviews: ``review_creation_date`` (the day the survey went out), not before the order's
  purchase day; the row carries its answer timestamp, which may be later (the export has
  only the answered state).
- products, sellers: the day of the first item that references them.
- translation, geolocation, and any row the rules above cannot date (a customer, product
  or seller nothing references, a row of an unknown order, an unparseable date): the
  first drop.

So the latest version of every row over all drops equals the source files, row for row.
Same input, same options: same bytes (sorted rows, one writer thread, gzip without time).
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb

from olist_elt.daily import drops
from olist_elt.errors import LoadError, SourceError
from olist_elt.load.sources import LocalSource, S3Source, TableFiles, open_source
from olist_elt.load.sql import ident, literal
from olist_elt.load.targets.duckdb import read_csv_sql
from olist_elt.spec import OLIST_FILES, OlistFile, by_table

log = logging.getLogger("olist_elt.daily.replay")

__all__ = ["ReplayResult", "iter_counts", "replay"]

# The SQL runs in a scratch DuckDB database over src_<table> (each file as read, all
# varchar): the days of each order's events, the first day, then out_<table> per table:
# (ingest_date, the file's columns in spec order).
_EVENT_DAYS_SQL = """
create table order_days as
with parsed as (
    select
        order_id,
        customer_id,
        cast(try_cast(order_purchase_timestamp as timestamp) as date) as purchased_on,
        cast(try_cast(order_approved_at as timestamp) as date) as approved_on,
        cast(try_cast(order_delivered_carrier_date as timestamp) as date) as shipped_on,
        cast(try_cast(order_delivered_customer_date as timestamp) as date) as delivered_on
    from src_orders
)
select
    order_id,
    customer_id,
    purchased_on,
    -- no event is published before the order itself (greatest() skips nulls in DuckDB)
    case when purchased_on is not null and approved_on is not null
        then greatest(approved_on, purchased_on) end as approved_day,
    case when purchased_on is not null and shipped_on is not null
        then greatest(shipped_on, purchased_on) end as shipped_day,
    case when purchased_on is not null and delivered_on is not null
        then greatest(delivered_on, purchased_on) end as delivered_day
from parsed
"""

_BOUNDS_SQL = """
create table bounds as
select least(
    (select min(purchased_on) from order_days),
    (select min(cast(try_cast(review_creation_date as timestamp) as date)) from src_order_reviews)
) as first_day
"""

_ORDER_VERSIONS_SQL = """
create table order_versions as
select
    order_days.*,
    coalesce(order_days.purchased_on, bounds.first_day) as created_day,
    coalesce(
        greatest(order_days.purchased_on, approved_day, shipped_day, delivered_day),
        bounds.first_day
    ) as last_day
from order_days
cross join bounds
"""

# One row per order: the day it first appears (its items, payments and customer too).
_ORDER_FIRST_DAY_SQL = """
create table order_first_days as
select order_id, min(created_day) as created_day
from order_versions
group by order_id
"""


def _select_sql(spec: OlistFile) -> str:
    """The (ingest_date, columns...) rows of one table over every drop."""
    columns = ", ".join(f"src.{ident(c)}" for c in spec.column_names)
    first_day = "(select first_day from bounds)"
    if spec.table == "orders":
        return _orders_select()
    if spec.table == "customers":
        return (
            f"select coalesce(days.created_day, {first_day}) as ingest_date, {columns}\n"
            "from src_customers as src\n"
            "left join (\n"
            "    select customer_id, min(created_day) as created_day\n"
            "    from order_versions group by customer_id\n"
            ") as days on src.customer_id = days.customer_id"
        )
    if spec.table in ("order_items", "order_payments"):
        return (
            f"select coalesce(days.created_day, {first_day}) as ingest_date, {columns}\n"
            f"from src_{spec.table} as src\n"
            "left join order_first_days as days on src.order_id = days.order_id"
        )
    if spec.table == "order_reviews":
        created = "cast(try_cast(src.review_creation_date as timestamp) as date)"
        return (
            f"select coalesce(greatest({created}, days.created_day), {first_day}) "
            f"as ingest_date, {columns}\n"
            "from src_order_reviews as src\n"
            "left join order_first_days as days on src.order_id = days.order_id"
        )
    if spec.table in ("products", "sellers"):
        key = spec.primary_key[0]
        return (
            f"select coalesce(days.first_day, {first_day}) as ingest_date, {columns}\n"
            f"from src_{spec.table} as src\n"
            "left join (\n"
            f"    select {key}, min(ingest_date) as first_day\n"
            f"    from out_order_items group by {key}\n"
            f") as days on src.{key} = days.{key}"
        )
    return f"select {first_day} as ingest_date, {columns}\nfrom src_{spec.table} as src"


def _orders_select() -> str:
    """Each order on each of its event days, as it stood at the end of that day."""

    def shown(column: str, day: str) -> str:
        # An event is shown from its day on; one without a usable day only in the last version.
        return (
            f"case when versions.ingest_date >= coalesce(versions.{day}, versions.last_day) "
            f"then src.{column} end as {column}"
        )

    return f"""
with versions as (
    select
        order_versions.*,
        unnest(list_distinct([created_day, approved_day, shipped_day, delivered_day]))
            as ingest_date
    from order_versions
)
select
    versions.ingest_date,
    src.order_id,
    src.customer_id,
    case
        when versions.ingest_date = versions.last_day then src.order_status
        when versions.delivered_day <= versions.ingest_date then 'delivered'
        when versions.shipped_day <= versions.ingest_date then 'shipped'
        when versions.approved_day <= versions.ingest_date then 'approved'
        else 'created'
    end as order_status,
    src.order_purchase_timestamp,
    {shown("order_approved_at", "approved_day")},
    {shown("order_delivered_carrier_date", "shipped_day")},
    {shown("order_delivered_customer_date", "delivered_day")},
    src.order_estimated_delivery_date
from src_orders as src
inner join versions
    on src.order_id = versions.order_id
"""


@dataclass(frozen=True)
class ReplayResult:
    """What a replay wrote."""

    out: str
    days: tuple[date, ...]  # the drops written, oldest first
    rows: dict[str, int]  # rows written per table, over all drops
    files: int
    seconds: float

    @property
    def drops(self) -> int:
        return len(self.days)

    @property
    def rows_per_drop(self) -> float:
        return sum(self.rows.values()) / self.drops if self.days else 0.0

    def summary(self) -> str:
        if not self.days:
            return f"no drop written to {self.out} (no row in the chosen days)"
        return (
            f"{self.drops} drops ({self.days[0]} to {self.days[-1]}), {self.files} files, "
            f"{sum(self.rows.values()):,} rows ({self.rows_per_drop:,.0f} per drop) "
            f"in {self.seconds:.1f} s -> {self.out}"
        )


def replay(
    source: str | Path,
    out: str | Path,
    *,
    date_from: date | None = None,
    date_to: date | None = None,
    gzip: bool = False,
    endpoint_url: str | None = None,
) -> ReplayResult:
    """Write the daily drops of the nine files in ``source`` (a folder) to ``out``.

    Only the drops from ``date_from`` to ``date_to`` (inclusive, each optional) are written;
    a drop already in ``out`` for a written day is replaced as a whole, other days are left.
    """
    clock = time.perf_counter()
    files = _source_files(str(source))
    out = str(out)
    with tempfile.TemporaryDirectory(prefix=".olist-replay-", dir=_scratch_parent(out)) as tmp:
        scratch = Path(tmp)
        connection = duckdb.connect(str(scratch / "replay.duckdb"))
        try:
            _compute(connection, files)
            rows, days = _write(connection, scratch, date_from, date_to, gzip)
        finally:
            connection.close()
        staged = scratch / "drops"
        written = sorted(staged.iterdir()) if staged.is_dir() else []
        count = sum(len(list(folder.iterdir())) for folder in written)
        if out.startswith("s3://"):
            _publish_s3(written, out, endpoint_url)
        else:
            _publish_local(written, Path(out))
    return ReplayResult(
        out=out,
        days=tuple(days),
        rows=rows,
        files=count,
        seconds=time.perf_counter() - clock,
    )


def _source_files(source: str) -> dict[str, TableFiles]:
    reader = open_source(source)
    if not isinstance(reader, LocalSource):
        raise SourceError(f"olist replay reads a local folder of the nine files, not {source}")
    resolved = reader.resolve(OLIST_FILES)
    errors = [str(f) for f in resolved.values() if isinstance(f, LoadError)]
    if errors:
        raise SourceError("; ".join(errors))
    return {table: f for table, f in resolved.items() if isinstance(f, TableFiles)}


def _scratch_parent(out: str) -> str | None:
    """Build next to a local output (same file system: drops are moved, not copied)."""
    if out.startswith("s3://"):
        return None
    Path(out).mkdir(parents=True, exist_ok=True)
    return out


def _compute(connection: duckdb.DuckDBPyConnection, files: dict[str, TableFiles]) -> None:
    for spec in OLIST_FILES:
        table_files = files[spec.table]
        paths = [f.uri for f in table_files.files]
        connection.execute(
            f"create table src_{spec.table} as select * from "
            f"{read_csv_sql(paths, table_files.gzip, spec.column_names)}"
        )
    for sql in (_EVENT_DAYS_SQL, _BOUNDS_SQL, _ORDER_VERSIONS_SQL, _ORDER_FIRST_DAY_SQL):
        connection.execute(sql)
    row = connection.execute("select first_day from bounds").fetchone()
    if row is None or row[0] is None:
        raise SourceError(
            "no order purchase date or review creation date could be read: nothing to date "
            "the drops by"
        )
    # Items first: products and sellers are dated by the items that reference them.
    order = ["order_items"] + [s.table for s in OLIST_FILES if s.table != "order_items"]
    for table in order:
        connection.execute(f"create table out_{table} as {_select_sql(by_table(table))}")


def _write(
    connection: duckdb.DuckDBPyConnection,
    scratch: Path,
    date_from: date | None,
    date_to: date | None,
    gzip: bool,
) -> tuple[dict[str, int], list[date]]:
    """COPY each table partitioned by day, then gather the files into drop folders."""
    conditions = ["true"]
    if date_from is not None:
        conditions.append(f"ingest_date >= {literal(date_from)}")
    if date_to is not None:
        conditions.append(f"ingest_date <= {literal(date_to)}")
    where = " and ".join(conditions)
    # One writer thread: rows land in the files in the sorted order, so the bytes repeat.
    connection.execute("set threads = 1")
    rows: dict[str, int] = {}
    days: set[date] = set()
    suffix = ".csv.gz" if gzip else ".csv"
    for spec in OLIST_FILES:
        table_dir = scratch / "tables" / spec.table
        table_dir.parent.mkdir(parents=True, exist_ok=True)
        counted = connection.execute(
            f"select ingest_date, count(*) from out_{spec.table} where {where} group by 1"
        ).fetchall()
        rows[spec.table] = sum(n for _, n in counted)
        if not counted:
            continue
        days.update(day for day, _ in counted)
        options = [
            "format csv",
            "header true",
            "partition_by (ingest_date)",
            f"filename_pattern {literal(spec.stem)}",
            f"compression {'gzip' if gzip else 'none'}",
        ]
        connection.execute(
            f"copy (select * from out_{spec.table} where {where} order by all)\n"
            f"to {literal(str(table_dir))} ({', '.join(options)})"
        )
        for day, _ in counted:
            written = list((table_dir / drops.folder_name(day)).iterdir())
            if len(written) != 1:
                raise RuntimeError(f"expected one file for {spec.table} on {day}: {written}")
            drop = scratch / "drops" / drops.folder_name(day)
            drop.mkdir(parents=True, exist_ok=True)
            written[0].rename(drop / f"{spec.stem}{suffix}")
    return rows, sorted(days)


def _publish_local(folders: list[Path], out: Path) -> None:
    """Move each drop folder into place; an existing drop of that day is replaced whole."""
    for folder in folders:
        final = out / folder.name
        if final.exists():
            old = final.with_name(f".{folder.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            final.rename(old)
            folder.rename(final)
            shutil.rmtree(old)
        else:
            folder.rename(final)


def _publish_s3(folders: list[Path], out: str, endpoint_url: str | None) -> None:
    """Upload the drops oldest first; objects of a rewritten drop that it no longer has go."""
    root = S3Source(out, endpoint_url=endpoint_url)
    existing = {f.name for f in root.list_objects(delimited=False)}
    stale: list[str] = []
    for folder in folders:
        names = {f"{folder.name}/{path.name}" for path in folder.iterdir()}
        for path in sorted(folder.iterdir()):
            root.put_file(f"{root.prefix}{folder.name}/{path.name}", path)
        stale += [
            f"{root.prefix}{name}"
            for name in existing
            if name.startswith(f"{folder.name}/") and name not in names
        ]
    if stale:
        root.delete_keys(sorted(stale))


def iter_counts(result: ReplayResult) -> Iterator[str]:
    for spec in OLIST_FILES:
        yield f"{result.rows[spec.table]:>10,}  {spec.file_name}"
