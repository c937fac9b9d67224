"""olist replay: daily drops whose latest versions give back the source files, row for row.

The drops are read back with the csv module, not DuckDB (which writes them), so the
checks do not share the code under test.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest

from olist_elt.cli import main
from olist_elt.daily.drops import folder_name, list_drops
from olist_elt.daily.replay import ReplayResult, replay
from olist_elt.generate.dataset import generate
from olist_elt.spec import DROP_FOLDER_PREFIX, OLIST_FILES, OlistFile, by_table
from s3_server import S3Server

Row = tuple[str, ...]
STAGES = {"created": 0, "approved": 1, "shipped": 2, "delivered": 3}
ORDER_TIMESTAMPS = {  # column -> status reached when it is set
    "order_approved_at": "approved",
    "order_delivered_carrier_date": "shipped",
    "order_delivered_customer_date": "delivered",
}


def read_rows(path: Path, spec: OlistFile) -> list[Row]:
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8-sig", newline="") as handle:  # type: ignore[operator]
        reader = csv.reader(handle)
        header = next(reader)
        assert tuple(header) == spec.column_names, f"{path}: header {header}"
        return [tuple(row) for row in reader]


@dataclass
class Drops:
    """Every row of every drop, per table: (day, row)."""

    source: Path
    root: Path
    result: ReplayResult
    rows: dict[str, list[tuple[date, Row]]]

    def source_rows(self, table: str) -> list[Row]:
        spec = by_table(table)
        return read_rows(self.source / spec.file_name, spec)

    def by_key(self, table: str) -> dict[Row, list[tuple[date, Row]]]:
        """Versions of each key, oldest first."""
        spec = by_table(table)
        positions = [spec.column_names.index(c) for c in spec.primary_key]
        versions: dict[Row, list[tuple[date, Row]]] = defaultdict(list)
        for day, row in self.rows[table]:
            versions[tuple(row[i] for i in positions)].append((day, row))
        for rows in versions.values():
            rows.sort(key=lambda version: version[0])
        return versions


def read_drops(root: Path) -> dict[str, list[tuple[date, Row]]]:
    rows: dict[str, list[tuple[date, Row]]] = defaultdict(list)
    for drop in list_drops(str(root)):
        folder = root / folder_name(drop.ingest_date)
        for path in folder.iterdir():
            spec = next(s for s in OLIST_FILES if path.name.startswith(s.file_name))
            rows[spec.table] += [(drop.ingest_date, row) for row in read_rows(path, spec)]
    return rows


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("replay_source")
    generate(folder, scale=0.01, seed=42)
    return folder


@pytest.fixture(scope="module")
def drops(generated: Path, tmp_path_factory: pytest.TempPathFactory) -> Drops:
    root = tmp_path_factory.mktemp("drops")
    result = replay(generated, root)
    return Drops(generated, root, result, read_drops(root))


def days(rows: list[tuple[date, Row]]) -> Iterator[date]:
    return (day for day, _ in rows)


def test_latest_versions_equal_the_source_row_for_row(drops: Drops) -> None:
    for spec in OLIST_FILES:
        source = Counter(drops.source_rows(spec.table))
        if spec.primary_key:
            latest = Counter(versions[-1][1] for versions in drops.by_key(spec.table).values())
        else:  # geolocation: no key, no versions: every row once
            latest = Counter(row for _, row in drops.rows[spec.table])
        assert latest == source, (
            f"{spec.table}: {sum((source - latest).values())} source rows missing, "
            f"{sum((latest - source).values())} rows not in the source"
        )
    # Only orders change: every other keyed table has one version per key.
    for spec in OLIST_FILES:
        if spec.primary_key and spec.table != "orders":
            assert len(drops.rows[spec.table]) == len(drops.source_rows(spec.table)), spec.table


def test_drops_hold_only_files_with_rows(drops: Drops) -> None:
    folders = sorted(p.name for p in drops.root.iterdir())
    assert folders == [folder_name(day) for day in drops.result.days]
    assert all(name.startswith(DROP_FOLDER_PREFIX) for name in folders)
    names = {spec.file_name for spec in OLIST_FILES}
    per_drop = Counter()
    for folder in drops.root.iterdir():
        files = list(folder.iterdir())
        assert files, f"{folder}: empty drop"
        for path in files:
            assert path.name in names, path
            spec = next(s for s in OLIST_FILES if s.file_name == path.name)
            assert read_rows(path, spec), f"{path}: header only"
        per_drop[len(files)] += 1
    assert sum(per_drop.values()) == drops.result.drops > 300  # about every day of two years
    assert drops.result.files == sum(n * count for n, count in per_drop.items())
    assert drops.result.rows == {t: len(r) for t, r in drops.rows.items()}
    # Reference data and unreferenced rows all come with the first drop.
    first = drops.result.days[0]
    for table in ("product_category_name_translation", "geolocation"):
        assert set(days(drops.rows[table])) == {first}, table


def test_orders_progress_through_their_statuses(drops: Drops) -> None:
    spec = by_table("orders")
    column = {name: index for index, name in enumerate(spec.column_names)}
    source = {row[0]: row for row in drops.source_rows("orders")}
    lengths = Counter()
    for (order_id,), versions in drops.by_key("orders").items():
        lengths[len(versions)] += 1
        order_days = [day for day, _ in versions]
        assert len(set(order_days)) == len(order_days), f"{order_id}: two versions on one day"
        final = source[order_id]
        purchased = date.fromisoformat(final[column["order_purchase_timestamp"]][:10])
        assert order_days[0] == purchased, order_id
        stage = -1
        for day, row in versions[:-1]:
            status = row[column["order_status"]]
            assert status in STAGES, f"{order_id} on {day}: intermediate status {status}"
            assert STAGES[status] >= stage, f"{order_id}: status went back to {status} on {day}"
            stage = STAGES[status]
            for name, reached in ORDER_TIMESTAMPS.items():
                value = row[column[name]]
                if value:  # shown once happened, with its final value
                    assert value == final[column[name]], (order_id, name)
                    assert date.fromisoformat(value[:10]) <= day, (order_id, name, day)
                    assert STAGES[status] >= STAGES[reached], (order_id, name, status)
                elif final[column[name]]:  # not shown yet: it happens after this day
                    assert date.fromisoformat(final[column[name]][:10]) > day, (order_id, name)
            # The purchase and the promised date are known from the start.
            assert (
                row[column["order_estimated_delivery_date"]]
                == final[column["order_estimated_delivery_date"]]
            )
        assert versions[-1][1] == final
    # Delivered orders go through created/approved, shipped and delivered days.
    assert lengths[1] and lengths[3] and lengths[4], lengths
    assert sum(n * count for n, count in lengths.items()) == len(drops.rows["orders"])


def test_address_change_is_a_new_customer_row_in_a_later_drop(drops: Drops) -> None:
    customers = drops.rows["customers"]
    order_day = {key[0]: versions[0][0] for key, versions in drops.by_key("orders").items()}
    order_of_customer = {row[1]: row[0] for _, row in drops.rows["orders"]}
    addresses: dict[str, list[tuple[date, str]]] = defaultdict(list)
    for day, (customer_id, unique_id, zip_prefix, _city, _state) in customers:
        # A customer row comes with its order, on the order's purchase day.
        if customer_id in order_of_customer:
            assert day == order_day[order_of_customer[customer_id]], customer_id
        addresses[unique_id].append((day, zip_prefix))
    movers = {
        person: sorted(rows) for person, rows in addresses.items() if len({z for _, z in rows}) > 1
    }
    assert movers, "the generated data has customers who moved"
    for person, rows in movers.items():
        first_day, first_zip = rows[0]
        later = [(day, z) for day, z in rows if z != first_zip]
        assert later and all(day >= first_day for day, _ in later), person
    assert any(day > rows[0][0] for rows in movers.values() for day, _ in rows[1:])


def test_items_payments_reviews_products_follow_their_order(drops: Drops) -> None:
    order_day = {key[0]: versions[0][0] for key, versions in drops.by_key("orders").items()}
    first = drops.result.days[0]
    for table in ("order_items", "order_payments"):
        for day, row in drops.rows[table]:
            assert day == order_day.get(row[0], first), (table, row[:2])
    for day, row in drops.rows["order_reviews"]:
        created = date.fromisoformat(row[5][:10])
        assert day == max(created, order_day[row[1]]), row[:2]
    first_item_day: dict[tuple[int, str], date] = {}
    for day, row in drops.rows["order_items"]:
        for position, key in ((2, row[2]), (3, row[3])):
            first_item_day[(position, key)] = min(day, first_item_day.get((position, key), day))
    for table, position in (("products", 2), ("sellers", 3)):
        for day, row in drops.rows[table]:
            assert day == first_item_day.get((position, row[0]), first), (table, row[0])


def test_date_range_gzip_and_same_bytes_twice(
    drops: Drops, generated: Path, tmp_path: Path
) -> None:
    start, end = drops.result.days[40], drops.result.days[60]
    first = replay(generated, tmp_path / "a", date_from=start, date_to=end, gzip=True)
    replay(generated, tmp_path / "b", date_from=start, date_to=end, gzip=True)
    assert first.days == tuple(d for d in drops.result.days if start <= d <= end)

    def digests(root: Path) -> dict[str, str]:
        return {
            str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*"))
            if p.is_file()
        }

    assert digests(tmp_path / "a") == digests(tmp_path / "b")
    assert all(name.endswith(".csv.gz") for name in digests(tmp_path / "a"))
    # Same rows as the plain full replay for those days.
    ranged = read_drops(tmp_path / "a")
    for spec in OLIST_FILES:
        expected = [(d, r) for d, r in drops.rows[spec.table] if start <= d <= end]
        assert sorted(ranged.get(spec.table, [])) == sorted(expected), spec.table
    # Writing a day again replaces that drop whole: no .csv beside the .csv.gz.
    replay(generated, tmp_path / "a", date_from=start, date_to=start)
    assert sorted(p.name for p in (tmp_path / "a" / folder_name(start)).iterdir()) == sorted(
        p.name.removesuffix(".gz") for p in (tmp_path / "b" / folder_name(start)).iterdir()
    )


def test_replay_to_s3(drops: Drops, generated: Path, s3_env: S3Server) -> None:
    bucket = s3_env.new_bucket()
    start, end = drops.result.days[0], drops.result.days[5]
    result = replay(generated, f"s3://{bucket}/daily", date_from=start, date_to=end)
    client = s3_env.client()
    keys = sorted(item["Key"] for item in client.list_objects_v2(Bucket=bucket)["Contents"])
    expected = sorted(
        f"daily/{p.relative_to(drops.root)}"
        for day in result.days
        for p in (drops.root / folder_name(day)).iterdir()
    )
    assert keys == expected
    sample = expected[0]
    body = client.get_object(Bucket=bucket, Key=sample)["Body"].read()
    assert body == (drops.root / sample.removeprefix("daily/")).read_bytes()
    # Rewritten as gzip: the plain objects of those drops are gone.
    replay(generated, f"s3://{bucket}/daily/", date_from=start, date_to=end, gzip=True)
    keys = sorted(item["Key"] for item in client.list_objects_v2(Bucket=bucket)["Contents"])
    assert keys == [f"{key}.gz" for key in expected]


def test_cli(generated: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        [
            "replay",
            str(generated),
            str(tmp_path / "out"),
            "--from",
            "2017-03-01",
            "--to",
            "2017-03-07",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert "drops (2017-03-01 to 2017-03-07)" in out
    assert (
        main(
            [
                "replay",
                str(generated),
                str(tmp_path / "out"),
                "--from",
                "2017-03-07",
                "--to",
                "2017-03-01",
            ]
        )
        == 2
    )
    assert main(["replay", str(tmp_path / "nowhere"), str(tmp_path / "out")]) == 1
    assert "source folder not found" in capsys.readouterr().err
    assert main(["replay", str(generated), str(tmp_path / "out"), "--from", "2017-3-1"]) == 2
    assert capsys.readouterr().err == (
        "olist replay: error: --from: not a date: '2017-3-1' (expected YYYY-MM-DD)\n"
    )


@pytest.mark.slow
def test_real_files_replay(real_olist_dir: Path, tmp_path: Path) -> None:
    """The real set: latest versions equal the files; reviews dated before their order
    (59 in the sample) come with the order; the address-change figure of the docs."""
    root = tmp_path / "drops"
    result = replay(real_olist_dir, root)
    rows = read_drops(root)
    real = Drops(real_olist_dir, root, result, rows)
    for spec in OLIST_FILES:
        source = Counter(real.source_rows(spec.table))
        if spec.primary_key:
            latest = Counter(v[-1][1] for v in real.by_key(spec.table).values())
        else:
            latest = Counter(row for _, row in rows[spec.table])
        assert latest == source, spec.table
    order_day = {key[0]: versions[0][0] for key, versions in real.by_key("orders").items()}
    early = [
        (day, row)
        for day, row in rows["order_reviews"]
        if date.fromisoformat(row[5][:10]) < order_day[row[1]]
    ]
    assert len(early) == 59
    assert all(day == order_day[row[1]] for day, row in early)
    # docs (_olist__docs.md): 250 of the 2,997 people with several customer_ids moved.
    ids: dict[str, set[str]] = defaultdict(set)
    zips: dict[str, set[str]] = defaultdict(set)
    for customer_id, person, zip_prefix, _city, _state in real.source_rows("customers"):
        ids[person].add(customer_id)
        zips[person].add(zip_prefix)
    repeat = sum(len(v) > 1 for v in ids.values())
    moved = sum(len(v) > 1 for v in zips.values())
    assert (len(ids), repeat, moved) == (96_096, 2_997, 250)
