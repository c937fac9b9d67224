"""S3 faults between the loader and the moto server: retried, resumed, or a clear failure.

The loader talks to moto through :class:`s3_fault_proxy.FaultProxy`, which throttles
(503 SlowDown), fails (500), resets connections mid-object, truncates bodies and sends
short bodies that claim to be complete. Transient faults must end in a complete load;
persistent ones in a failed table whose message names the object, with the warehouse
still holding the previous version (never part of an object). Both engines: DuckDB
downloads to a file first, PostgreSQL streams the object into COPY as it arrives, so a
resumed download there continues a COPY already under way.

Backoff is shortened for the tests (botocore's delay and the resume delay are patched);
the number of attempts is the loader's default.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from fault_harness import FaultSummary, Rows, Warehouse
from loader_files import write_set, write_table
from olist_elt.load import sources
from olist_elt.spec import OLIST_FILES, by_table
from s3_fault_proxy import FaultProxy, Rule
from s3_server import S3Server

pytestmark = pytest.mark.faults

BIG = "geolocation"  # 10,000 rows, 1.2 MB: more than one 1 MiB chunk
CUT = 1_100_000  # past the first chunk: the resumed download needs a Range request


@dataclass
class Backoff:
    calls: int = 0


@pytest.fixture
def backoff(monkeypatch: pytest.MonkeyPatch) -> Backoff:
    """Short delays, counted: botocore's retry backoff and the loader's resume backoff."""
    from botocore.retries import standard

    seen = Backoff()

    def short_delay(self: object, context: object) -> float:
        seen.calls += 1
        return 0.01

    def short_resume_delay(failures: int) -> float:
        seen.calls += 1
        return 0.005

    monkeypatch.setattr(standard.ExponentialBackoff, "delay_amount", short_delay)
    monkeypatch.setattr(sources, "resume_delay", short_resume_delay)
    return seen


@pytest.fixture
def proxy(s3_env: S3Server, monkeypatch: pytest.MonkeyPatch) -> Iterator[FaultProxy]:
    faulty = FaultProxy(upstream=s3_env.endpoint_url).start()
    monkeypatch.setenv("AWS_ENDPOINT_URL", faulty.endpoint_url)
    try:
        yield faulty
    finally:
        faulty.stop()


def file_rows(path: Path) -> Rows:
    """What a correct load of the file holds: its data rows, empty fields as NULL."""
    text = path.read_text(encoding="utf-8")
    records = list(csv.reader(io.StringIO(text, newline="")))[1:]
    return Counter(tuple(value or None for value in record) for record in records)


@dataclass
class Lake:
    """Two versions of the nine files under two prefixes of one bucket (made once)."""

    bucket: str
    folders: dict[str, Path]

    def uri(self, version: str) -> str:
        return f"s3://{self.bucket}/{version}/"

    def key(self, table: str) -> str:
        return f"new/{by_table(table).file_name}"

    def rows(self, version: str, table: str) -> Rows:
        return file_rows(self.folders[version] / by_table(table).file_name)


@pytest.fixture(scope="module")
def versions(s3_server: S3Server, tmp_path_factory: pytest.TempPathFactory) -> Lake:
    bucket = s3_server.new_bucket("faults")
    folders = {}
    for tag, rows, big in (("old", 3, 10_000), ("new", 4, 10_200)):
        folder = tmp_path_factory.mktemp(tag)
        write_set(folder, count=rows, tag=tag)
        write_table(folder, BIG, big, tag=tag)
        s3_server.upload_folder(folder, bucket, f"{tag}/")
        folders[tag] = folder
    return Lake(bucket, folders)


@pytest.fixture
def lake(versions: Lake, engine_warehouse: Warehouse, proxy: FaultProxy) -> Lake:
    """The warehouse holds version "old" (loaded through the proxy, no faults)."""
    assert engine_warehouse.load(versions.uri("old")).ok
    proxy.clear()
    return versions


def _orders(lake: Lake) -> str:
    return lake.key("orders")


def _big(lake: Lake) -> str:
    return lake.key(BIG)


# Request faults are the source's business, the same whatever the engine: DuckDB only.
# Body faults land while the engine consumes the object (PostgreSQL: mid-COPY): both.
DUCKDB_ONLY = pytest.mark.parametrize("engine_warehouse", ["duckdb"], indirect=True)
REQUEST_FAULTS = {
    "503 SlowDown twice on an object": lambda lake: [Rule("slowdown", _orders(lake), times=2)],
    "500 twice on the listing": lambda lake: [Rule("error500", "list-type=2", times=2)],
    "500 then 503 on an object": lambda lake: [
        Rule("error500", _orders(lake)),
        Rule("slowdown", _orders(lake)),
    ],
    "reset before any byte of the body": lambda lake: [Rule("reset", _orders(lake), cut=0)],
}
BODY_FAULTS = {
    "connection reset mid-object": lambda lake: [Rule("reset", _big(lake), cut=CUT)],
    "truncated, then reset on the resumed range": lambda lake: [
        Rule("truncate", _big(lake), cut=CUT, ranged=False),
        Rule("reset", _big(lake), cut=50_000, ranged=True),
    ],
    "truncated body (full Content-Length)": lambda lake: [Rule("truncate", _big(lake), cut=CUT)],
    "short body claiming to be complete": lambda lake: [Rule("short", _big(lake), cut=CUT)],
}


@DUCKDB_ONLY
@pytest.mark.parametrize("case", list(REQUEST_FAULTS))
def test_request_fault_is_retried_and_the_load_is_complete(
    case: str,
    lake: Lake,
    proxy: FaultProxy,
    engine_warehouse: Warehouse,
    backoff: Backoff,
    fault_summary: FaultSummary,
) -> None:
    proxy.add(*REQUEST_FAULTS[case](lake))
    _complete(lake, proxy, engine_warehouse, backoff, fault_summary)


@pytest.mark.parametrize("case", list(BODY_FAULTS))
def test_body_fault_is_resumed_and_the_load_is_complete(
    case: str,
    lake: Lake,
    proxy: FaultProxy,
    engine_warehouse: Warehouse,
    backoff: Backoff,
    fault_summary: FaultSummary,
) -> None:
    proxy.add(*BODY_FAULTS[case](lake))
    _complete(lake, proxy, engine_warehouse, backoff, fault_summary)


def _complete(
    lake: Lake, proxy: FaultProxy, wh: Warehouse, backoff: Backoff, fault_summary: FaultSummary
) -> None:
    report = wh.load(lake.uri("new"))
    assert report.ok, [t.error for t in report.tables if t.error]
    injected = sum(proxy.injected.values())
    assert injected == sum(r.times or 0 for r in proxy.rules), proxy.injected
    with wh.reading():
        for spec in OLIST_FILES:
            assert wh.rows(spec.table) == lake.rows("new", spec.table), spec.table
    if any(r.fault in ("truncate", "short") for r in proxy.rules):
        # The download went on from where it broke off (a reset may also drop the bytes
        # still in the socket buffer, so it may resume from an earlier byte).
        ranges = [rng for _, path, rng in proxy.requests if BIG in path and rng]
        assert ranges and all(r.startswith("bytes=") and r != "bytes=0-" for r in ranges), ranges
    assert backoff.calls >= 1
    fault_summary.count(f"S3 faults injected, load retried and complete ({wh.engine})", injected)


PERSISTENT_REQUEST = {
    "503 SlowDown on every attempt": (
        lambda lake: [Rule("slowdown", _orders(lake), times=None)],
        "orders",
        ["reading s3://", "olist_orders_dataset.csv", "S3 error SlowDown", "after 5 attempts"],
    ),
    "500 on every attempt": (
        lambda lake: [Rule("error500", _orders(lake), times=None)],
        "orders",
        ["olist_orders_dataset.csv", "S3 error InternalError", "after 5 attempts"],
    ),
}
PERSISTENT_BODY = {
    "reset mid-object on every attempt": (
        lambda lake: [Rule("reset", _big(lake), cut=CUT, times=None)],
        BIG,
        ["olist_geolocation_dataset.csv", "download broke off 5 times", "nothing of it"],
    ),
    "short body on every attempt": (
        lambda lake: [Rule("short", _big(lake), cut=CUT, ranged=False, times=None),
                      Rule("short", _big(lake), cut=1000, ranged=True, times=None)],
        BIG,
        ["olist_geolocation_dataset.csv", "download broke off 5 times",
         "the body ended at byte"],
    ),
}  # fmt: skip


@DUCKDB_ONLY
@pytest.mark.parametrize("case", list(PERSISTENT_REQUEST))
def test_persistent_request_fault_fails_the_table_and_keeps_the_previous_version(
    case: str,
    lake: Lake,
    proxy: FaultProxy,
    engine_warehouse: Warehouse,
    backoff: Backoff,
    fault_summary: FaultSummary,
) -> None:
    _fails_cleanly(PERSISTENT_REQUEST[case], lake, proxy, engine_warehouse, fault_summary)


@pytest.mark.parametrize("case", list(PERSISTENT_BODY))
def test_persistent_body_fault_fails_the_table_and_keeps_the_previous_version(
    case: str,
    lake: Lake,
    proxy: FaultProxy,
    engine_warehouse: Warehouse,
    backoff: Backoff,
    fault_summary: FaultSummary,
) -> None:
    _fails_cleanly(PERSISTENT_BODY[case], lake, proxy, engine_warehouse, fault_summary)


def _fails_cleanly(
    case: tuple[Callable[[Lake], list[Rule]], str, list[str]],
    lake: Lake,
    proxy: FaultProxy,
    wh: Warehouse,
    fault_summary: FaultSummary,
) -> None:
    rules, failed_table, fragments = case
    proxy.add(*rules(lake))
    before = wh.load_ids(failed_table)
    report = wh.load(lake.uri("new"))
    failed = next(t for t in report.tables if t.table == failed_table)
    assert failed.status == "failed"
    for fragment in fragments:
        assert fragment in (failed.error or ""), failed.error
    assert "\n" not in (failed.error or "")
    assert [t.table for t in report.tables if t.status == "failed"] == [failed_table]
    # Not one row of the broken object: the table is the previous version, whole.
    assert wh.rows(failed_table) == lake.rows("old", failed_table)
    assert wh.load_ids(failed_table) == before
    others = [spec.table for spec in OLIST_FILES if spec.table != failed_table]
    assert all(wh.rows(t) == lake.rows("new", t) for t in others)
    fault_summary.count(
        f"S3 faults injected, table failed cleanly ({wh.engine})", sum(proxy.injected.values())
    )


@DUCKDB_ONLY
def test_listing_that_always_fails_leaves_every_table(
    lake: Lake, proxy: FaultProxy, engine_warehouse: Warehouse, backoff: Backoff
) -> None:
    wh = engine_warehouse
    proxy.add(Rule("error500", "list-type=2", times=None))
    report = wh.load(lake.uri("new"))
    assert {t.status for t in report.tables} == {"failed"}
    assert f"listing {lake.uri('new')}: S3 error InternalError" in (report.tables[0].error or "")
    assert all(wh.rows(s.table) == lake.rows("old", s.table) for s in OLIST_FILES)


@pytest.mark.parametrize("engine_warehouse", ["postgres"], indirect=True)
def test_object_replaced_after_listing_is_refused(
    lake: Lake, engine_warehouse: Warehouse, monkeypatch: pytest.MonkeyPatch, s3_server: S3Server
) -> None:
    """The ETag pins the object: a new upload between listing and reading is an error."""
    listed = sources.S3Source.list_files

    def list_then_replace(self: sources.S3Source) -> list[sources.SourceFile]:
        files = listed(self)
        self.client.put_object(Bucket=lake.bucket, Key=_orders(lake), Body=b"order_id\n1\n")
        return files

    monkeypatch.setattr(sources.S3Source, "list_files", list_then_replace)
    try:
        report = engine_warehouse.load(lake.uri("new"))
    finally:  # the bucket is shared by the module's tests
        original = lake.folders["new"] / by_table("orders").file_name
        s3_server.client().upload_file(str(original), lake.bucket, _orders(lake))
    failed = next(t for t in report.tables if t.table == "orders")
    assert failed.status == "failed"
    assert "olist_orders_dataset.csv: the object changed after it was listed" in failed.error
    assert engine_warehouse.rows("orders") == lake.rows("old", "orders")
