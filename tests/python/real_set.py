"""The consistent nine-file real set, as tests and benchmarks read it from ../shared/olist.

See ../shared/olist/README.md: the five complete tables except payments come from full/,
the four sampled tables and the payments of the sampled orders from sample/. The files
stay where they are; a folder of symlinks stands for the set.
"""

from __future__ import annotations

from pathlib import Path

from olist_elt.spec import OLIST_FILES

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SHARED_OLIST = PROJECT_ROOT.parent / "shared" / "olist"
REAL_FROM_FULL = frozenset(
    {
        "olist_customers_dataset.csv",
        "olist_products_dataset.csv",
        "olist_sellers_dataset.csv",
        "product_category_name_translation.csv",
    }
)


def link_real_set(folder: Path) -> Path:
    """Fill ``folder`` with symlinks to the nine real files; returns it."""
    folder.mkdir(parents=True, exist_ok=True)
    for olist_file in OLIST_FILES:
        part = "full" if olist_file.file_name in REAL_FROM_FULL else "sample"
        (folder / olist_file.file_name).symlink_to(SHARED_OLIST / part / olist_file.file_name)
    return folder
