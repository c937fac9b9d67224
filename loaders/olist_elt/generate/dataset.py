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

``--parts N`` writes every table but the 71-row category translation as N parts
``<stem>_part<K>.csv[.gz]`` of about equal size (what Redshift's COPY loads in parallel:
N a multiple of the slices, each part 1 MB to 1 GB compressed, see docs/redshift.md);
the parts read in order hold the same rows as the whole file. ``--out s3://bucket/prefix/``
uploads each file as soon as it is complete (boto3, ``--endpoint-url`` or
``AWS_ENDPOINT_URL``) and deletes the local copy, then removes other copies of the
tables left under the prefix.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Callable
from pathlib import Path

from olist_elt.generate.catalog import Catalog, translation_rows
from olist_elt.generate.common import Sizes
from olist_elt.generate.csvout import PartedWriter
from olist_elt.generate.geography import ZipUniverse
from olist_elt.generate.orders import OrderFactory
from olist_elt.load.sources import S3Source
from olist_elt.spec import OLIST_FILES, by_table

log = logging.getLogger("olist_elt.generate.dataset")


# The category translation is a fixed 71-row list: never split.
UNSPLIT = frozenset({"product_category_name_translation"})
FileCallback = Callable[[Path], None]


def generate(
    out_dir: Path,
    scale: float = 1.0,
    seed: int = 42,
    gzip: bool = False,
    *,
    parts: int = 1,
    on_file: FileCallback | None = None,
) -> dict[str, int]:
    """Write the nine files into `out_dir`; return data rows per file (spec file name).

    Files are written under a temporary name and renamed when complete, so a reader
    never sees a half-written file; ``on_file`` is then called with its path.
    """
    if parts < 1:
        raise ValueError(f"parts must be >= 1, got {parts}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    sizes = Sizes.for_scale(scale)
    zips = ZipUniverse(seed, sizes)
    catalog = Catalog(seed, sizes, zips)
    factory = OrderFactory(seed, sizes, zips, catalog)
    rows: dict[str, int] = {}

    def writer(table: str, units: int) -> PartedWriter:
        split = 1 if table in UNSPLIT else parts
        return PartedWriter(
            out_dir, by_table(table), gzip, parts=split, units=units, on_file=on_file
        )

    def write(table: str, out: PartedWriter) -> None:
        rows[by_table(table).file_name] = out.rows
        log.info("%s: %d rows in %d file(s)", by_table(table).file_name, out.rows, out.parts)

    translation = list(translation_rows())
    with writer("product_category_name_translation", len(translation)) as out:
        out.write_units(translation)
    write("product_category_name_translation", out)
    with writer("sellers", sizes.sellers) as out:
        out.write_units(catalog.seller_rows())
    write("sellers", out)
    with writer("products", sizes.products) as out:
        out.write_units(catalog.product_rows())
    write("products", out)
    with writer("geolocation", sizes.geolocation_rows) as out:
        out.write_units(zips.geolocation_rows(seed))
    write("geolocation", out)

    # One unit per order: an order's customer, items, payments and reviews go to its part.
    with (
        writer("orders", sizes.orders) as orders,
        writer("customers", sizes.orders) as customers,
        writer("order_items", sizes.orders) as items,
        writer("order_payments", sizes.orders) as payments,
        writer("order_reviews", sizes.orders) as reviews,
    ):
        per_order = (orders, customers, items, payments, reviews)
        for position in range(sizes.orders):
            for out in per_order:
                out.at(position)
            built = factory.build(factory.index_at(position))
            orders.write(built.order)
            customers.write(built.customer)
            items.write_all(built.items)
            payments.write_all(built.payments)
            reviews.write_all(built.reviews)
    for table, out in (
        ("orders", orders),
        ("customers", customers),
        ("order_items", items),
        ("order_payments", payments),
        ("order_reviews", reviews),
    ):
        write(table, out)
    return rows


def generate_to(
    out: str,
    scale: float = 1.0,
    seed: int = 42,
    gzip: bool = False,
    *,
    parts: int = 1,
    endpoint_url: str | None = None,
    on_file: FileCallback | None = None,
) -> dict[str, int]:
    """``generate`` into a folder, or into ``s3://bucket/prefix/``.

    For S3, files are staged in a temporary folder one at a time per table (each is
    uploaded and deleted as soon as it is complete), so local disk holds a few parts, not
    the data set. Objects directly under the prefix that are copies of the nine files but
    were not written by this run (a whole file replaced by parts, parts of an earlier
    split) are deleted afterwards, as in a folder.
    """
    if not out.startswith("s3://"):
        return generate(Path(out), scale, seed, gzip, parts=parts, on_file=on_file)
    target = S3Source(out, endpoint_url=endpoint_url)
    before = {f.name for f in target.list_files()}
    uploaded: set[str] = set()

    def upload(path: Path) -> None:
        if on_file is not None:
            on_file(path)
        target.put_file(target.prefix + path.name, path)
        uploaded.add(path.name)
        path.unlink()

    with tempfile.TemporaryDirectory(prefix="olist-generate-") as scratch:
        rows = generate(Path(scratch), scale, seed, gzip, parts=parts, on_file=upload)
    stale = sorted(
        name
        for name in before - uploaded
        if any(spec.name_pattern.match(name) for spec in OLIST_FILES)
    )
    if stale:
        target.delete_keys([target.prefix + name for name in stale])
        log.info("removed %s from %s", ", ".join(stale), target.uri)
    return rows
