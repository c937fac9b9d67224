"""Session fixtures that build the dbt project on real data, for tests to share.

`real_duckdb_build` loads the consistent real Olist set into a temporary DuckDB file with the
project's loader, runs `dbt build` on it (every model and test) and returns the file's path.
It is built once per session, whichever test asks first. conftest.py registers this module as
a plugin, so any test can ask for `real_duckdb_build` or `generated_duckdb_build` by name.

The loader and dbt both read a copy of profiles.yml.example with OLIST_DUCKDB_PATH pointing at
the temporary file, as `make run` does with the real one.
"""

from __future__ import annotations

import logging
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from dbt_cli import PROJECT_ROOT, run_dbt
from olist_elt.generate.dataset import generate
from olist_elt.load.loader import LoadReport, load
from olist_elt.pipeline import BuildSummary, dbt_build
from olist_elt.settings import Settings
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


@dataclass(frozen=True)
class GeneratedBuild:
    """What `generated_duckdb_build` made: the files, the load report and the dbt summary."""

    database: Path
    data_dir: Path
    rows_generated: dict[str, int]
    load_report: LoadReport
    build: BuildSummary


@pytest.fixture(scope="session")
def generated_duckdb_build(tmp_path_factory: pytest.TempPathFactory) -> GeneratedBuild:
    """The main job at scale 0.01: generate, load into DuckDB, `dbt build` in-process.

    This is the path `make run` takes (olist_elt.pipeline), with every file in a temporary
    folder: dbt runs through its programmatic runner, as the pipeline does. dbt-duckdb keeps
    its connection to the file open in this process, so open it without read_only (DuckDB
    refuses a second connection to one file with another configuration).
    """
    work = tmp_path_factory.mktemp("generated_duckdb_build")
    data_dir = work / "data"
    profiles_dir = work / "profiles"
    profiles_dir.mkdir()
    shutil.copy(PROFILES_EXAMPLE, profiles_dir / "profiles.yml")
    database = work / "olist.duckdb"
    rows = generate(data_dir, scale=0.01, seed=7)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("OLIST_DUCKDB_PATH", str(database))
        patch.setenv("DBT_PROFILES_DIR", str(profiles_dir))
        patch.setenv("DBT_LOG_PATH", str(work / "logs"))
        patch.delenv("OLIST_TARGET", raising=False)
        patch.delenv("OLIST_RAW_SCHEMA", raising=False)
        report = load(str(data_dir), target="duckdb", profiles_dir=str(profiles_dir))
        build = dbt_build(
            Settings.resolve({"target": "duckdb"}), ["--target-path", str(work / "target")]
        )
    return GeneratedBuild(database, data_dir, rows, report, build)
