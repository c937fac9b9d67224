"""Run the dbt command line against the project, or a copy of it, in a child process.

A child process keeps each invocation's flags, target path and partial-parse state apart
from the pytest process and from other tests that run dbt in-process. Profiles point at a
DuckDB file in a temporary folder, so nothing in the work tree is written.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DBT = Path(sys.executable).with_name("dbt")

# What a copy of the dbt project needs; everything else (venv, target, data, Python) stays.
PROJECT_ENTRIES = (
    "dbt_project.yml",
    "selectors.yml",
    ".dbtignore",
    "models",
    "macros",
    "tests",
    "seeds",
    "snapshots",
    "analyses",
)


@dataclass(frozen=True)
class DbtRun:
    args: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str

    def check(self) -> DbtRun:
        if self.returncode != 0:
            raise AssertionError(
                f"dbt {' '.join(self.args)} exited {self.returncode}\n"
                f"--- stdout (tail) ---\n{self.stdout[-4000:]}\n"
                f"--- stderr (tail) ---\n{self.stderr[-2000:]}"
            )
        return self


def write_profiles(folder: Path, duckdb_path: Path, threads: int = 2) -> Path:
    """A profiles.yml whose only output is a DuckDB file at duckdb_path; returns its folder."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "profiles.yml").write_text(
        "olist_elt:\n"
        "  target: duckdb\n"
        "  outputs:\n"
        "    duckdb:\n"
        "      type: duckdb\n"
        f"      path: {json.dumps(str(duckdb_path))}\n"
        "      schema: analytics\n"
        f"      threads: {threads}\n",
        encoding="utf-8",
    )
    return folder


def fixture_profiles(
    profile: str, work: Path, postgres: Any = None, dbname: str | None = None
) -> Path:
    """The profiles folder (under ``work``) of a fixture project: one output, a DuckDB file
    in ``work``, or with ``postgres`` (the pg_server fixture) its database ``dbname``."""
    if postgres is None:
        output = {"type": "duckdb", "path": str(work / "fixture.duckdb"), "schema": "main"}
    else:
        output = {
            "type": "postgres",
            "host": postgres.host,
            "port": postgres.port,
            "user": postgres.user,
            "password": postgres.password,
            "dbname": dbname,
            "schema": "public",
        }
    folder = work / "profiles"
    folder.mkdir(exist_ok=True)
    outputs = {"fixture": {**output, "threads": 2}}
    # JSON is YAML: no quoting of paths or passwords to get wrong
    (folder / "profiles.yml").write_text(
        json.dumps({profile: {"target": "fixture", "outputs": outputs}}), encoding="utf-8"
    )
    return folder


def copy_project(destination: Path, source: Path = PROJECT_ROOT) -> Path:
    """Copy the dbt project (not the venv, target, data or Python tests) to destination."""
    destination.mkdir(parents=True, exist_ok=True)
    ignore = shutil.ignore_patterns("python", "__pycache__", "*.pyc")
    for entry in PROJECT_ENTRIES:
        path = source / entry
        if path.is_dir():
            shutil.copytree(path, destination / entry, ignore=ignore)
        elif path.is_file():
            shutil.copy2(path, destination / entry)
    return destination


def run_dbt(
    *args: str,
    project_dir: Path,
    profiles_dir: Path,
    target_path: Path | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 600,
) -> DbtRun:
    command = [
        str(DBT),
        *args,
        "--project-dir",
        str(project_dir),
        "--profiles-dir",
        str(profiles_dir),
    ]
    if target_path is not None:
        command += ["--target-path", str(target_path)]
    child_env = {**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false", **(env or {})}
    child_env.pop("DBT_PROFILES_DIR", None)
    log.info("running %s", " ".join(command))
    completed = subprocess.run(
        command,
        cwd=project_dir,
        env=child_env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    return DbtRun(tuple(args), completed.returncode, completed.stdout, completed.stderr)


def fixture_project_args(project_dir: Path, profiles_dir: Path, work: Path) -> list[str]:
    """Options of an in-process dbt call (dbtRunner) on a fixture project: target and log
    folders under ``work``, a full parse (a fixture is parsed once), no usage events."""
    return [
        *("--project-dir", str(project_dir), "--profiles-dir", str(profiles_dir)),
        *("--target-path", str(work / "target"), "--log-path", str(work / "logs")),
        "--no-partial-parse",
        "--no-send-anonymous-usage-stats",
    ]


def load_json(path: Path) -> dict[str, Any]:
    with path.open(encoding="utf-8") as handle:
        return json.load(handle)
