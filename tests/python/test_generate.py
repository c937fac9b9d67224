"""The generator: same arguments give the same bytes, files follow the spec, carry the
quirks of the originals, and hold together (every reference resolves).

Most tests share one scale-0.01 data set (about 15,000 rows, well under a second) read
through an in-memory DuckDB with every column as text, as the raw landing layer sees it.
"""

from __future__ import annotations

import csv
import gzip
import re
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest

from olist_elt.cli import main
from olist_elt.generate.common import Sizes
from olist_elt.generate.dataset import generate
from olist_elt.spec import OLIST_FILES, OlistFile, by_table

SCALE = 0.01
SEED = 42
TRANSLATION = by_table("product_category_name_translation")
UNTRANSLATED = ("pc_gamer", "portateis_cozinha_e_preparadores_de_alimentos")
STATUSES = (
    "delivered", "shipped", "canceled", "unavailable", "invoiced", "processing", "created",
    "approved",
)  # fmt: skip
# Files whose real counterpart is the byte-exact original (the other four real files were
# re-serialised, so their first line says nothing about the originals' quoting).
ORIGINAL_HEADERS = ("customers", "order_payments", "products", "sellers", TRANSLATION.table)


@pytest.fixture(scope="session")
def generated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, int]]:
    out_dir = tmp_path_factory.mktemp("generated")
    return out_dir, generate(out_dir, scale=SCALE, seed=SEED)


@pytest.fixture(scope="session")
def out_dir(generated: tuple[Path, dict[str, int]]) -> Path:
    return generated[0]


@pytest.fixture(scope="session")
def db(out_dir: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    connection = duckdb.connect()
    for olist_file in OLIST_FILES:
        path = (out_dir / olist_file.file_name).as_posix()
        connection.execute(
            f"create view {olist_file.table} as select * "
            f"from read_csv('{path}', header = true, all_varchar = true)"
        )
    yield connection
    connection.close()


def scalar(db: duckdb.DuckDBPyConnection, sql: str) -> Any:
    row = db.execute(sql).fetchone()
    assert row is not None, sql
    return row[0]


def read_rows(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.reader(handle))


def data_lines(path: Path) -> list[str]:
    """Physical lines after the header (a quoted line break splits a row in two)."""
    return path.read_text(encoding="utf-8").split("\n")[1:]


def file_bytes(folder: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(folder.iterdir())}


# -- determinism and shape ---------------------------------------------------------------


def test_same_seed_gives_same_bytes(out_dir: Path, tmp_path: Path) -> None:
    generate(tmp_path, scale=SCALE, seed=SEED)
    first, second = file_bytes(out_dir), file_bytes(tmp_path)
    assert sorted(first) == sorted(second)
    differing = [name for name in first if first[name] != second[name]]
    assert differing == [], f"same scale and seed, different bytes in {differing}"


def test_other_seed_gives_other_data(out_dir: Path, tmp_path: Path) -> None:
    generate(tmp_path, scale=SCALE, seed=SEED + 1)
    first, second = file_bytes(out_dir), file_bytes(tmp_path)
    same = [name for name in first if first[name] == second[name]]
    # The translation file is the fixed real list: it may not change with the seed.
    assert same == [TRANSLATION.file_name], f"seed change left {same} unchanged"


def test_writes_the_nine_files_and_counts_their_rows(
    generated: tuple[Path, dict[str, int]],
) -> None:
    out_dir, rows = generated
    expected = sorted(f.file_name for f in OLIST_FILES)
    assert sorted(p.name for p in out_dir.iterdir()) == expected, "missing, extra or .tmp files"
    assert sorted(rows) == expected
    for olist_file in OLIST_FILES:
        parsed = read_rows(out_dir / olist_file.file_name)
        assert rows[olist_file.file_name] == len(parsed) - 1, olist_file.file_name
        widths = {len(row) for row in parsed}
        assert widths == {len(olist_file.columns)}, f"{olist_file.file_name}: widths {widths}"


@pytest.mark.parametrize("olist_file", OLIST_FILES, ids=lambda f: f.table)
def test_header_is_the_spec(out_dir: Path, olist_file: OlistFile) -> None:
    header = read_rows(out_dir / olist_file.file_name)[0]
    assert tuple(header) == olist_file.column_names


@pytest.mark.parametrize("table", ORIGINAL_HEADERS)
def test_header_line_written_like_the_original(
    out_dir: Path, real_olist_dir: Path, table: str
) -> None:
    name = by_table(table).file_name
    ours = (out_dir / name).read_bytes().split(b"\n", 1)[0]
    theirs = (real_olist_dir / name).read_bytes().split(b"\n", 1)[0]
    assert ours == theirs, f"{name}: header line {ours!r}, original {theirs!r}"


def test_rows_scale_linearly(generated: tuple[Path, dict[str, int]], tmp_path: Path) -> None:
    _, small = generated
    double = generate(tmp_path, scale=2 * SCALE, seed=SEED)
    assert double[TRANSLATION.file_name] == small[TRANSLATION.file_name] == 71
    for name, count in small.items():
        if name != TRANSLATION.file_name:
            ratio = double[name] / count
            assert 1.8 <= ratio <= 2.2, f"{name}: {count} rows at {SCALE}, {double[name]} at 2x"


# Data rows of the complete originals.
REAL_ROWS = {
    "customers": 99_441,
    "geolocation": 1_000_163,
    "order_items": 112_650,
    "order_payments": 103_886,
    "order_reviews": 99_224,
    "orders": 99_441,
    "products": 32_951,
    "sellers": 3_095,
    "product_category_name_translation": 71,
}
# Tables whose size is drawn per order rather than fixed by the scale.
DRAWN_PER_ORDER = {"order_items", "order_payments", "order_reviews"}


def test_scale_one_sizes_are_the_real_counts() -> None:
    sizes = Sizes.for_scale(1.0)
    assert (sizes.orders, sizes.unique_customers) == (99_441, 96_096)
    assert (sizes.products, sizes.sellers, sizes.geolocation_rows) == (32_951, 3_095, 1_000_163)


@pytest.mark.slow
def test_scale_one_writes_about_the_real_row_counts(tmp_path: Path) -> None:
    rows = generate(tmp_path, scale=1.0, seed=SEED)
    for table, real in REAL_ROWS.items():
        written = rows[by_table(table).file_name]
        if table in DRAWN_PER_ORDER:
            assert abs(written - real) <= 0.01 * real, f"{table}: {written:,} rows, real {real:,}"
        else:
            assert written == real, f"{table}: {written:,} rows, real {real:,}"


def test_gzip_output_round_trips(out_dir: Path, tmp_path: Path) -> None:
    rows = generate(tmp_path / "a", scale=SCALE, seed=SEED, gzip=True)
    generate(tmp_path / "b", scale=SCALE, seed=SEED, gzip=True)
    assert file_bytes(tmp_path / "a") == file_bytes(tmp_path / "b"), "gzip bytes not stable"
    for olist_file in OLIST_FILES:
        packed = tmp_path / "a" / f"{olist_file.file_name}.gz"
        plain = (out_dir / olist_file.file_name).read_bytes()
        assert gzip.decompress(packed.read_bytes()) == plain, olist_file.file_name
    assert sum(rows.values()) > 10_000


def test_other_compression_replaces_the_previous_copy(tmp_path: Path) -> None:
    generate(tmp_path, scale=0.002, seed=SEED)
    generate(tmp_path, scale=0.002, seed=SEED, gzip=True)
    expected = sorted(f"{f.file_name}.gz" for f in OLIST_FILES)
    assert sorted(p.name for p in tmp_path.iterdir()) == expected


def test_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(["generate", "--scale", "0.005", "--seed", "7", "--out", str(tmp_path), "--gzip"]) == 0
    )
    printed = capsys.readouterr().out
    for olist_file in OLIST_FILES:
        assert (tmp_path / f"{olist_file.file_name}.gz").is_file()
        assert olist_file.file_name in printed
    assert main(["generate", "--scale", "0", "--out", str(tmp_path)]) == 2
    with pytest.raises(ValueError, match="scale must be > 0"):
        generate(tmp_path, scale=-1)


def test_memory_does_not_follow_the_scale(tmp_path: Path) -> None:
    # Streaming peaks near 5 MB here (write buffers, caches); holding scale 0.05's
    # ~5,000 orders with their customers, items, payments and reviews takes over 15 MB.
    tracemalloc.start()
    try:
        generate(tmp_path, scale=0.05, seed=SEED)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 10_000_000, f"peak {peak:,} bytes of Python memory at scale 0.05"


# -- quirks of the originals ------------------------------------------------------------------


def test_translation_file_has_bom_crlf_and_no_final_newline(out_dir: Path) -> None:
    raw = (out_dir / TRANSLATION.file_name).read_bytes()
    assert raw.startswith(b"\xef\xbb\xbfproduct_category_name,"), raw[:40]
    assert not raw.endswith(b"\n"), "translation file must not end with a line break"
    lines = raw.split(b"\r\n")
    assert len(lines) == 72 and all(b"\n" not in line for line in lines), "CRLF expected"
    names = {line.split(b",")[0].decode() for line in lines[1:]}
    assert not names & set(UNTRANSLATED)


def test_other_files_use_lf(out_dir: Path) -> None:
    for olist_file in OLIST_FILES:
        if olist_file is TRANSLATION:
            continue
        raw = (out_dir / olist_file.file_name).read_bytes()
        assert raw.endswith(b"\n") and not raw.startswith(b"\xef\xbb\xbf"), olist_file.file_name
        header = raw.split(b"\n", 1)[0]
        assert b"\r" not in header, f"{olist_file.file_name}: CRLF header"


def test_quoting_follows_the_originals(out_dir: Path) -> None:
    hex_id = r'(?:"[0-9][0-9a-f]{31}"|[a-f][0-9a-f]{31})'
    customer = re.compile(rf'{hex_id},{hex_id},"[0-9]{{5}}",[^",][^"]*,[A-Z]{{2}}')
    for number, line in enumerate(data_lines(out_dir / "olist_customers_dataset.csv"), 2):
        assert line == "" or customer.fullmatch(line), f"customers line {number}: {line!r}"
    timestamp = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d"
    item = re.compile(rf"{hex_id},\d+,{hex_id},{hex_id},{timestamp},\d+\.\d\d,\d+\.\d\d")
    for number, line in enumerate(data_lines(out_dir / "olist_order_items_dataset.csv"), 2):
        assert line == "" or item.fullmatch(line), f"order items line {number}: {line!r}"
    sellers = (out_dir / "olist_sellers_dataset.csv").read_text(encoding="utf-8")
    assert re.search(r',"[^",]+, [a-z ]+, brasil",[A-Z]{2}\n', sellers), "no quoted comma city"


def test_review_comments_keep_quoted_line_breaks(
    out_dir: Path, db: duckdb.DuckDBPyConnection
) -> None:
    path = out_dir / "olist_order_reviews_dataset.csv"
    rows = read_rows(path)[1:]
    messages = [row[4] for row in rows]
    assert any("\r\n" in message for message in messages), "no multi-line comment"
    assert sum(1 for m in messages if m) / len(messages) > 0.25, "too few comments"
    assert sum(1 for m in messages if not m) / len(messages) > 0.4, "too few empty comments"
    assert any(re.search("[ãçéêóõú]", m) for m in messages), "no Portuguese accents"
    assert len(data_lines(path)) - 1 > len(rows), "line breaks should span physical lines"
    multiline = scalar(
        db, "select count(*) from order_reviews where review_comment_message like '%\n%'"
    )
    assert multiline, "DuckDB should read the quoted line breaks inside one value"


def test_zip_prefixes_are_five_character_strings(db: duckdb.DuckDBPyConnection) -> None:
    shares = db.execute(
        """
        select
            avg(case when regexp_full_match(customer_zip_code_prefix, '[0-9]{5}')
                then 1 else 0 end),
            avg(case when customer_zip_code_prefix like '0%' then 1 else 0 end)
        from customers
        """
    ).fetchone()
    assert shares is not None
    assert shares[0] == 1, "every prefix must be five digits"
    assert 0.15 < shares[1] < 0.35, f"{shares[1]:.1%} start with 0 (real: 24%)"


def test_products_without_or_with_untranslated_category_are_sold(
    db: duckdb.DuckDBPyConnection,
) -> None:
    without = scalar(db, "select count(*) from products where product_category_name is null")
    assert without >= 1
    missing_details = scalar(
        db,
        "select count(*) from products where product_category_name is null "
        "and product_name_lenght is not null",
    )
    assert missing_details == 0, "products without category also lack name length"
    untranslated = db.execute(
        """
        select distinct products.product_category_name
        from order_items
        inner join products on order_items.product_id = products.product_id
        left join product_category_name_translation as translation
            on products.product_category_name = translation.product_category_name
        where products.product_category_name is not null
            and translation.product_category_name is null
        order by 1
        """
    ).fetchall()
    assert [name for (name,) in untranslated] == sorted(UNTRANSLATED)
    sold_without = scalar(
        db,
        "select count(*) from order_items inner join products using (product_id) "
        "where product_category_name is null",
    )
    assert sold_without >= 1


def test_customers_repeat_and_move(db: duckdb.DuckDBPyConnection) -> None:
    counts = db.execute(
        "select count(*), count(distinct customer_id), count(distinct customer_unique_id) "
        "from customers"
    ).fetchone()
    assert counts is not None
    orders = scalar(db, "select count(*) from orders")
    assert counts[0] == counts[1] == orders, "one customer row per order's customer_id"
    assert counts[2] < counts[1], "some unique customers must have several customer_ids"
    movers = db.execute(
        """
        with addresses as (
            select
                customers.customer_unique_id,
                customers.customer_zip_code_prefix,
                lag(customers.customer_zip_code_prefix) over (
                    partition by customers.customer_unique_id
                    order by orders.order_purchase_timestamp, orders.order_id
                ) as previous_prefix
            from customers
            inner join orders on customers.customer_id = orders.customer_id
        )
        select
            count(distinct customer_unique_id),
            max(changes)
        from (
            select customer_unique_id, count(*) as changes
            from addresses
            where customer_zip_code_prefix <> previous_prefix
            group by 1
        )
        """
    ).fetchone()
    assert movers is not None
    assert movers[0] >= 1, "at least one customer must appear with two zip prefixes"
    assert movers[1] == 1, "a customer moves once: later orders keep the new address"


def test_timestamps_are_consistent_with_status(db: duckdb.DuckDBPyConnection) -> None:
    present = {s for (s,) in db.execute("select distinct order_status from orders").fetchall()}
    assert present == set(STATUSES)
    violations = {
        "delivered without all timestamps": """order_status = 'delivered' and (
            order_approved_at is null or order_delivered_carrier_date is null
            or order_delivered_customer_date is null)""",
        "undelivered with a delivery date": """order_status <> 'delivered'
            and order_delivered_customer_date is not null""",
        "created but approved": "order_status = 'created' and order_approved_at is not null",
        "shipped without carrier": """order_status = 'shipped'
            and order_delivered_carrier_date is null""",
        "carrier before shipping": """order_status in
            ('invoiced', 'processing', 'approved', 'unavailable', 'created')
            and order_delivered_carrier_date is not null""",
        "approved before purchase": "order_approved_at < order_purchase_timestamp",
        "carrier before approval": "order_delivered_carrier_date < order_approved_at",
        "delivered before carrier": """order_delivered_customer_date
            < order_delivered_carrier_date""",
        "estimate not at midnight": "order_estimated_delivery_date not like '% 00:00:00'",
        "estimate before purchase": "order_estimated_delivery_date < order_purchase_timestamp",
        "outside 2016-09 .. 2018-10": """order_purchase_timestamp < '2016-09-01'
            or order_purchase_timestamp >= '2018-11-01'""",
    }
    for rule, condition in violations.items():
        found = scalar(db, f"select count(*) from orders where {condition}")
        assert found == 0, f"{found} orders: {rule}"
    canceled_partial = scalar(
        db,
        "select count(*) from orders where order_status = 'canceled' "
        "and order_approved_at is not null and order_delivered_carrier_date is not null",
    )
    assert canceled_partial >= 1, "a canceled order handed to the carrier is expected"
    late = scalar(
        db,
        "select avg(case when order_delivered_customer_date > order_estimated_delivery_date "
        "then 1 else 0 end) from orders where order_status = 'delivered'",
    )
    assert 0.04 < late < 0.13, f"{late:.1%} delivered late (real: 8%)"


def test_references_resolve(db: duckdb.DuckDBPyConnection) -> None:
    orphans = {
        "order without customer": """select count(*) from orders
            where customer_id not in (select customer_id from customers)""",
        "customer without order": """select count(*) from customers
            where customer_id not in (select customer_id from orders)""",
        "item without order": """select count(*) from order_items
            where order_id not in (select order_id from orders)""",
        "item without product": """select count(*) from order_items
            where product_id not in (select product_id from products)""",
        "item without seller": """select count(*) from order_items
            where seller_id not in (select seller_id from sellers)""",
        "payment without order": """select count(*) from order_payments
            where order_id not in (select order_id from orders)""",
        "review without order": """select count(*) from order_reviews
            where order_id not in (select order_id from orders)""",
    }
    for what, sql in orphans.items():
        assert scalar(db, sql) == 0, what
    duplicates = {
        "orders": "order_id",
        "customers": "customer_id",
        "products": "product_id",
        "sellers": "seller_id",
        "order_items": "order_id, order_item_id",
        "order_payments": "order_id, payment_sequential",
        "order_reviews": "review_id, order_id",
    }
    for table, key in duplicates.items():
        found = scalar(
            db, f"select count(*) from (select {key} from {table} group by all having count(*) > 1)"
        )
        assert found == 0, f"{table}: {found} duplicated ({key})"


def test_items_start_at_one_and_some_orders_have_none(db: duckdb.DuckDBPyConnection) -> None:
    gaps = scalar(
        db,
        "select count(*) from (select order_id from order_items group by 1 "
        "having max(order_item_id::int) <> count(*) or min(order_item_id::int) <> 1)",
    )
    assert gaps == 0, "order_item_id must run 1..n"
    without = db.execute(
        "select distinct order_status from orders "
        "where order_id not in (select order_id from order_items)"
    ).fetchall()
    assert {s for (s,) in without} >= {"created", "unavailable", "canceled"}


def test_payments_add_up_to_the_items(db: duckdb.DuckDBPyConnection) -> None:
    shares = db.execute(
        """
        with items as (
            select order_id, sum(price::decimal(12, 2) + freight_value::decimal(12, 2)) as total
            from order_items
            group by 1
        ),

        payments as (
            select order_id, sum(payment_value::decimal(12, 2)) as total
            from order_payments
            group by 1
        )

        select avg(case when items.total = payments.total then 1 else 0 end), count(*)
        from items
        inner join payments on items.order_id = payments.order_id
        """
    ).fetchone()
    assert shares is not None
    assert shares[0] > 0.9, f"only {shares[0]:.1%} of orders pay what their items cost"
    types = {
        t for (t,) in db.execute("select distinct payment_type from order_payments").fetchall()
    }
    assert types == {"credit_card", "boleto", "voucher", "debit_card", "not_defined"}
    checks = {
        "sequential not 1..n": """select count(*) from (select order_id from order_payments
            group by 1 having max(payment_sequential::int) <> count(*))""",
        "amount without two decimals": """select count(*) from order_payments
            where not regexp_full_match(payment_value, '[0-9]+\\.[0-9]{2}')""",
    }
    for what, sql in checks.items():
        assert scalar(db, sql) == 0, what
    zero = scalar(db, "select count(*) from order_payments where payment_value = '0.00'")
    assert zero >= 1, "a few payments of 0.00 (vouchers, not_defined) are expected"


def test_reviews_repeat_like_the_originals(db: duckdb.DuckDBPyConnection) -> None:
    two_reviews = scalar(
        db,
        "select count(*) from (select order_id from order_reviews group by 1 having count(*) > 1)",
    )
    shared_ids = scalar(
        db,
        "select count(*) from (select review_id from order_reviews group by 1 "
        "having count(distinct order_id) > 1)",
    )
    at_midnight = scalar(
        db,
        "select count(*) from order_reviews where review_creation_date not like '% 00:00:00'",
    )
    assert two_reviews >= 1, "some orders have two reviews"
    assert shared_ids >= 1, "some review ids cover several orders"
    assert at_midnight == 0, "review_creation_date is a date written at 00:00:00"


def test_geolocation_quirks(db: duckdb.DuckDBPyConnection) -> None:
    exact_duplicates = scalar(
        db,
        "select count(*) - (select count(*) from (select distinct * from geolocation)) "
        "from geolocation",
    )
    assert exact_duplicates > 0
    both_spellings = scalar(
        db,
        """
        select count(*) from (
            select strip_accents(geolocation_city)
            from geolocation
            group by 1
            having count(distinct geolocation_city) > 1
        )
        """,
    )
    assert both_spellings >= 1, "no city spelled with and without accents"
    outside = scalar(
        db,
        "select count(*) from geolocation where geolocation_lat::double not between -33.75 "
        "and 5.27 or geolocation_lng::double not between -73.99 and -34.79",
    )
    assert outside >= 2, "a couple of points lie outside Brazil"
    decimals = scalar(
        db, "select min(length(split_part(geolocation_lat, '.', 2))) from geolocation"
    )
    assert decimals >= 8, "coordinates keep many decimals"
    per_prefix = scalar(
        db, "select count(*) / count(distinct geolocation_zip_code_prefix) from geolocation"
    )
    assert per_prefix > 20, "many rows per prefix"
    unmapped = db.execute(
        """
        select
            count(*) filter (where geolocation_zip_code_prefix is null),
            count(*)
        from customers
        left join (select distinct geolocation_zip_code_prefix from geolocation) as geo
            on customers.customer_zip_code_prefix = geo.geolocation_zip_code_prefix
        """
    ).fetchone()
    assert unmapped is not None
    assert 1 <= unmapped[0] <= 0.01 * unmapped[1], f"{unmapped[0]} customers lack geolocation"
