"""`olist generate --parts N`: split tables whose parts, read in order, are the whole file.

The split exists for Redshift's COPY (docs/redshift.md): N about-equal parts that the
loader's source listing takes as one table. Everything here runs on local files; loading
a parted set from S3 into the targets is in test_parts_load.py.
"""

from __future__ import annotations

import csv
import gzip
import io
import tracemalloc
from pathlib import Path

import pytest

from olist_elt.cli import main
from olist_elt.errors import SourceError
from olist_elt.generate.dataset import UNSPLIT, generate
from olist_elt.load.sources import LocalSource, TableFiles
from olist_elt.spec import OLIST_FILES, OlistFile, by_table

SCALE = 0.01
SEED = 42
PARTS = 4
SPLIT = tuple(f for f in OLIST_FILES if f.table not in UNSPLIT)


@pytest.fixture(scope="module")
def whole(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("whole")
    generate(folder, scale=SCALE, seed=SEED)
    return folder


@pytest.fixture(scope="module")
def parted(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, int]]:
    folder = tmp_path_factory.mktemp("parted")
    return folder, generate(folder, scale=SCALE, seed=SEED, gzip=True, parts=PARTS)


def resolved(folder: Path) -> dict[str, TableFiles]:
    tables = LocalSource(folder).resolve(OLIST_FILES)
    errors = [str(t) for t in tables.values() if not isinstance(t, TableFiles)]
    assert errors == []
    return tables  # type: ignore[return-value]


def text(path: Path) -> str:
    raw = path.read_bytes()
    return (gzip.decompress(raw) if path.name.endswith(".gz") else raw).decode("utf-8")


def header_and_body(path: Path) -> tuple[str, str]:
    header, _, body = text(path).partition("\n")
    return header, body


def file_bytes(folder: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(folder.iterdir())}


def test_the_loader_lists_each_split_table_as_its_parts_in_order(
    parted: tuple[Path, dict[str, int]],
) -> None:
    folder, _ = parted
    tables = resolved(folder)
    for spec in SPLIT:
        names = [f.name for f in tables[spec.table].files]
        assert names == [f"{spec.stem}_part{k}.csv.gz" for k in range(1, PARTS + 1)]
        assert tables[spec.table].gzip
    translation = by_table("product_category_name_translation")
    assert [f.name for f in tables[translation.table].files] == [f"{translation.file_name}.gz"]
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        f.name for t in tables.values() for f in t.files
    ), "files the loader would not take (or .tmp files) are left in the folder"


@pytest.mark.parametrize("spec", OLIST_FILES, ids=lambda f: f.table)
def test_parts_in_order_are_the_whole_file_row_for_row(
    whole: Path, parted: tuple[Path, dict[str, int]], spec: OlistFile
) -> None:
    folder, rows = parted
    files = resolved(folder)[spec.table].files
    whole_header, whole_body = header_and_body(whole / spec.file_name)
    bodies = []
    for source_file in files:
        header, body = header_and_body(Path(source_file.uri))
        assert header == whole_header, f"{source_file.name}: header {header!r}"
        bodies.append(body)
    assert "".join(bodies) == whole_body, f"{spec.table}: parts differ from the whole file"
    parsed = list(csv.reader(io.StringIO(whole_body, newline="")))
    assert rows[spec.file_name] == len(parsed), f"{spec.table}: rows reported"


def test_same_arguments_give_the_same_parts(
    parted: tuple[Path, dict[str, int]], tmp_path: Path
) -> None:
    generate(tmp_path, scale=SCALE, seed=SEED, gzip=True, parts=PARTS)
    first, second = file_bytes(parted[0]), file_bytes(tmp_path)
    assert sorted(first) == sorted(second)
    assert [name for name in first if first[name] != second[name]] == []


def test_parts_are_about_equal(parted: tuple[Path, dict[str, int]]) -> None:
    folder, _ = parted
    tables = resolved(folder)
    for spec in SPLIT:
        counts = [
            len(list(csv.reader(io.StringIO(header_and_body(Path(f.uri))[1], newline=""))))
            for f in tables[spec.table].files
        ]
        # Split by row, or by order for the order tables (an order's items stay together).
        assert max(counts) - min(counts) <= 0.25 * max(counts), f"{spec.table}: {counts}"
        if spec.table in ("orders", "customers", "geolocation", "products", "sellers"):
            assert max(counts) - min(counts) <= 1, f"{spec.table}: {counts}"


def test_an_orders_rows_are_in_the_part_of_the_order(
    parted: tuple[Path, dict[str, int]],
) -> None:
    folder, _ = parted
    tables = resolved(folder)

    def order_ids(table: str, column: str) -> list[set[str]]:
        return [
            {row[column] for row in csv.DictReader(io.StringIO(text(Path(f.uri)), newline=""))}
            for f in tables[table].files
        ]

    orders = order_ids("orders", "order_id")
    for table in ("order_items", "order_payments", "order_reviews"):
        for number, (ids, own) in enumerate(
            zip(order_ids(table, "order_id"), orders, strict=True), 1
        ):
            assert ids <= own, f"{table} part {number} has orders of another part"


def test_a_table_smaller_than_the_parts_gets_no_empty_part(tmp_path: Path) -> None:
    rows = generate(tmp_path, scale=0.002, seed=SEED, parts=64)
    sellers = resolved(tmp_path)["sellers"].files
    assert len(sellers) == rows["olist_sellers_dataset.csv"] < 64
    assert [f.name for f in sellers] == [
        f"olist_sellers_dataset_part{k}.csv" for k in range(1, len(sellers) + 1)
    ]
    geolocation = [f.name for f in resolved(tmp_path)["geolocation"].files]
    assert len(geolocation) == 64
    # Zero-padded: a plain listing (ls, aws s3 ls) shows the parts in order.
    assert geolocation == sorted(geolocation)
    assert geolocation[0] == "olist_geolocation_dataset_part01.csv"


def test_a_new_split_replaces_the_old_one(tmp_path: Path) -> None:
    # Left behind, part 5 of 6 would be loaded with parts 1-3 of the new split.
    generate(tmp_path, scale=0.002, seed=SEED, gzip=True, parts=6)
    generate(tmp_path, scale=0.002, seed=SEED, gzip=True, parts=3)
    assert len(resolved(tmp_path)["orders"].files) == 3
    assert not list(tmp_path.glob("*_part[4-6].csv.gz"))
    generate(tmp_path, scale=0.002, seed=SEED)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(f.file_name for f in OLIST_FILES)


def test_the_loader_refuses_two_parts_with_the_same_number(tmp_path: Path) -> None:
    generate(tmp_path, scale=0.002, seed=SEED, parts=2)
    orders = by_table("orders")
    (tmp_path / f"{orders.stem}_part01.csv").write_bytes(
        (tmp_path / f"{orders.stem}_part1.csv").read_bytes()
    )
    error = LocalSource(tmp_path).resolve([orders])["orders"]
    assert isinstance(error, SourceError)
    assert "share part number 1" in str(error)
    assert "olist_orders_dataset_part01.csv, olist_orders_dataset_part1.csv" in str(error)


def test_memory_does_not_follow_the_number_of_parts(tmp_path: Path) -> None:
    # One part per table is open at a time. Were all open, the 8 x 32 gzip streams alone
    # would hold about 70 MB (zlib's buffers are traced too); the whole run peaks near 4 MB.
    tracemalloc.start()
    try:
        generate(tmp_path, scale=SCALE, seed=SEED, gzip=True, parts=32)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 10_000_000, f"peak {peak:,} bytes of Python memory with 32 parts"


def test_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    arguments = ["generate", "--scale", "0.005", "--out", str(tmp_path), "--gzip"]
    assert main([*arguments, "--parts", "3"]) == 0
    printed = capsys.readouterr().out
    assert f"{tmp_path}/olist_orders_dataset_part*.csv.gz  (3 parts of " in printed
    assert f"{tmp_path}/product_category_name_translation.csv.gz\n" in printed
    assert len(resolved(tmp_path)["geolocation"].files) == 3
    for bad in ("0", "-2", "two"):
        assert main([*arguments, "--parts", bad]) == 2
    assert "--parts: expected a whole number" in capsys.readouterr().err
    with pytest.raises(ValueError, match="parts must be >= 1"):
        generate(tmp_path, scale=0.005, parts=0)
