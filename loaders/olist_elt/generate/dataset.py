"""`olist generate`: write the nine Olist files, deterministic for a (scale, seed).

Scale 1 gives about the real row counts (99,441 orders, 1,000,163 geolocation rows);
scale 0.01 is a fast fixture that still carries every quirk of the originals: BOM, CRLF
and no final newline in the translation file, exporter-style quoting, leading-zero zip
prefixes, products without (or with an untranslated) category, customers who moved,
status-consistent missing timestamps, multi-line review comments, shared review ids,
duplicate and out-of-country geolocation rows.

Same arguments, same bytes: every random stream is seeded from (seed, table or entity),
and gzip output has a fixed header. Memory stays flat: orders and their customers,
items, payments and reviews are written in one pass without keeping earlier orders.
"""

from __future__ import annotations

import logging
from pathlib import Path

from olist_elt.generate.catalog import Catalog, translation_rows
from olist_elt.generate.common import Sizes
from olist_elt.generate.csvout import TableWriter
from olist_elt.generate.geography import ZipUniverse
from olist_elt.generate.orders import OrderFactory
from olist_elt.spec import by_table

log = logging.getLogger("olist_elt.generate.dataset")


def generate(
    out_dir: Path, scale: float = 1.0, seed: int = 42, gzip: bool = False
) -> dict[str, int]:
    """Write the nine files into `out_dir`; return data rows per file (spec file name).

    Files are written under a temporary name and renamed when complete, so a reader
    never sees a half-written file.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    sizes = Sizes.for_scale(scale)
    zips = ZipUniverse(seed, sizes)
    catalog = Catalog(seed, sizes, zips)
    factory = OrderFactory(seed, sizes, zips, catalog)
    rows: dict[str, int] = {}

    def write(table: str, writer: TableWriter) -> None:
        rows[by_table(table).file_name] = writer.rows
        log.info("%s: %d rows", writer.path.name, writer.rows)

    with TableWriter(out_dir, by_table("product_category_name_translation"), gzip) as out:
        out.write_all(translation_rows())
    write("product_category_name_translation", out)
    with TableWriter(out_dir, by_table("sellers"), gzip) as out:
        out.write_all(catalog.seller_rows())
    write("sellers", out)
    with TableWriter(out_dir, by_table("products"), gzip) as out:
        out.write_all(catalog.product_rows())
    write("products", out)
    with TableWriter(out_dir, by_table("geolocation"), gzip) as out:
        out.write_all(zips.geolocation_rows(seed))
    write("geolocation", out)

    with (
        TableWriter(out_dir, by_table("orders"), gzip) as orders,
        TableWriter(out_dir, by_table("customers"), gzip) as customers,
        TableWriter(out_dir, by_table("order_items"), gzip) as items,
        TableWriter(out_dir, by_table("order_payments"), gzip) as payments,
        TableWriter(out_dir, by_table("order_reviews"), gzip) as reviews,
    ):
        for position in range(sizes.orders):
            built = factory.build(factory.index_at(position))
            orders.write(built.order)
            customers.write(built.customer)
            items.write_all(built.items)
            payments.write_all(built.payments)
            reviews.write_all(built.reviews)
    for table, writer in (
        ("orders", orders),
        ("customers", customers),
        ("order_items", items),
        ("order_payments", payments),
        ("order_reviews", reviews),
    ):
        write(table, writer)
    return rows
