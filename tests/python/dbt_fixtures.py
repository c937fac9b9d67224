"""Session fixtures that build the dbt project on real data, for tests to share.

`real_duckdb_build` loads the consistent real Olist set into a temporary DuckDB file with the
project's loader, runs `dbt build` on it (every model and test) and returns the file's path.
It is built once per session, whichever test asks first. Use it from a test module with

    from dbt_fixtures import real_duckdb_build  # noqa: F401  (pytest fixture)

The loader and dbt both read a copy of profiles.yml.example with OLIST_DUCKDB_PATH pointing at
the temporary file, as `make run` does with the real one.
"""

from __future__ import annotations

import logging
import shutil
import time
from pathlib import Path

import pytest

from dbt_cli import PROJECT_ROOT, run_dbt
from olist_elt.load import load
from olist_elt.spec import DEFAULT_RAW_SCHEMA

log = logging.getLogger(__name__)

PROFILES_EXAMPLE = PROJECT_ROOT / "profiles.yml.example"


@pytest.fixture(scope="session")
def real_duckdb_build(real_olist_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Path of a DuckDB file holding the real set loaded and the whole project built."""
    work = tmp_path_factory.mktemp("real_duckdb_build")
    database = work / "olist.duckdb"
    profiles_dir = work / "profiles"
    profiles_dir.mkdir()
    shutil.copy(PROFILES_EXAMPLE, profiles_dir / "profiles.yml")
    env = {
        "OLIST_DUCKDB_PATH": str(database),
        "OLIST_TARGET": "duckdb",
        "OLIST_RAW_SCHEMA": DEFAULT_RAW_SCHEMA,
    }

    clock = time.perf_counter()
    with pytest.MonkeyPatch.context() as patch:
        for name, value in env.items():
            patch.setenv(name, value)
        report = load(str(real_olist_dir), target="duckdb", profiles_dir=str(profiles_dir))
    failed = [f"{t.table}: {t.error}" for t in report.tables if t.error]
    if not report.ok:
        pytest.fail(f"loading {real_olist_dir} into {database} failed: {'; '.join(failed)}")
    log.info("loaded real set in %.1f s: %s", time.perf_counter() - clock, report.summary())

    clock = time.perf_counter()
    build = run_dbt(
        "build",
        project_dir=PROJECT_ROOT,
        profiles_dir=profiles_dir,
        target_path=work / "target",
        env={**env, "DBT_LOG_PATH": str(work / "logs")},
        timeout=1200,
    )
    build.check()
    log.info("dbt build on the real set in %.1f s", time.perf_counter() - clock)
    return database
