"""Shared pytest fixtures: paths, the real Olist files and the consistent real set."""

from __future__ import annotations

from pathlib import Path

import pytest

from olist_elt.spec import OLIST_FILES

# Server fixtures (pg_server, pg_database, pg_env; s3_server, s3_env): see those modules.
# fault_harness: warehouses on both engines and the fault suites' closing figures.
pytest_plugins = ["pg_server", "s3_server", "dbt_fixtures", "fault_harness"]

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SHARED_OLIST = PROJECT_ROOT.parent / "shared" / "olist"

# The consistent nine-file real set (see ../shared/olist/README.md): the five complete
# tables except payments come from full/, the four sampled tables and the payments of
# the sampled orders from sample/.
REAL_FROM_FULL = {
    "olist_customers_dataset.csv",
    "olist_products_dataset.csv",
    "olist_sellers_dataset.csv",
    "product_category_name_translation.csv",
}


@pytest.fixture(scope="session")
def project_root() -> Path:
    return PROJECT_ROOT


@pytest.fixture(scope="session")
def real_olist_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder of symlinks to the consistent real nine-file set (files are not copied)."""
    if not SHARED_OLIST.is_dir():
        pytest.skip(f"real Olist files not found at {SHARED_OLIST}")
    folder = tmp_path_factory.mktemp("real_olist")
    for olist_file in OLIST_FILES:
        part = "full" if olist_file.file_name in REAL_FROM_FULL else "sample"
        (folder / olist_file.file_name).symlink_to(SHARED_OLIST / part / olist_file.file_name)
    return folder
