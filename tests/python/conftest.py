"""Shared pytest fixtures: paths, the real Olist files and the consistent real set."""

from __future__ import annotations

from pathlib import Path

import pytest

from real_set import SHARED_OLIST, link_real_set

# Server fixtures (pg_server, pg_database, pg_env; s3_server, s3_env): see those modules.
# fault_harness: warehouses on both engines and the fault suites' closing figures.
# browser: one headless Chromium (Selenium) for tests that open pages.
# tiers: the fast tier (`pytest --fast`, `make check`) and the rules that keep it fast.
pytest_plugins = ["pg_server", "s3_server", "dbt_fixtures", "fault_harness", "browser", "tiers"]

PROJECT_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def project_root() -> Path:
    return PROJECT_ROOT


@pytest.fixture(scope="session")
def real_olist_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder of symlinks to the consistent real nine-file set (files are not copied)."""
    if not SHARED_OLIST.is_dir():
        pytest.skip(f"real Olist files not found at {SHARED_OLIST}")
    return link_real_set(tmp_path_factory.mktemp("real_olist"))
