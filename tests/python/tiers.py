"""The fast tier (`pytest --fast`, run by `make check`) and how it is kept fast.

A test is in the fast tier unless it is marked `slow`. Two rules keep the marks honest:

* At collection, in every run, a test that asks for a fixture which starts a server, a
  browser or a dbt build (HEAVY_FIXTURES) is marked `slow` whatever its module says, so
  `-m "not slow"` can never pull one in.
* Under `--fast`, a test that starts dbt, PostgreSQL, a browser or an S3 server by itself
  (a subprocess, or dbt in-process) fails at once, naming the test and the program, so the
  missing `slow` mark is found the first time the fast tier runs it, not by a slow build.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator, Sequence
from typing import Any

import pytest

HEAVY_FIXTURES = frozenset(
    {
        "pg_server",
        "pg_database",
        "pg_env",
        "s3_server",
        "s3_env",
        "engine_warehouse",
        "real_olist_dir",
        "real_duckdb_build",
        "generated_duckdb_build",
        "browser",
        "airflow_venv",  # installs Airflow's own virtualenv when missing
        "bench_run",  # runs the benchmarks (loads and builds at several scales)
    }
)
# Programs that only the slow tier may start (compared by file name).
HEAVY_PROGRAMS = frozenset(
    {
        "dbt",
        "postgres",
        "initdb",
        "pg_ctl",
        "chromium",
        "chromedriver",
        "moto_server",
        "olist-run",
        "olist-daily",
        "olist-replay",
        "olist",
    }
)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--fast",
        action="store_true",
        help="run only the fast tier: tests not marked slow, with no dbt, database, S3 or browser",
    )


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        heavy = HEAVY_FIXTURES.intersection(getattr(item, "fixturenames", ()))
        if heavy and item.get_closest_marker("slow") is None:
            item.add_marker(pytest.mark.slow(reason=f"uses {', '.join(sorted(heavy))}"))
    if config.getoption("fast"):
        kept = [item for item in items if item.get_closest_marker("slow") is None]
        dropped = [item for item in items if item.get_closest_marker("slow") is not None]
        if dropped:
            config.hook.pytest_deselected(items=dropped)
        items[:] = kept


def _heavy_program(args: Any) -> str | None:
    """The heavy program a Popen call would start, if any (also `python -m dbt...`)."""
    argv: Sequence[Any] = [args] if isinstance(args, str | bytes | os.PathLike) else list(args)
    if not argv:
        return None
    first = os.fsdecode(argv[0])
    words = first.split() if isinstance(args, str) else [first]
    name = os.path.basename(words[0]) if words else ""
    if name in HEAVY_PROGRAMS:
        return name
    if name.startswith("python") and len(argv) > 2 and os.fsdecode(argv[1]) == "-m":
        module = os.fsdecode(argv[2]).split(".")[0]
        if module in {"dbt", "moto"}:
            return f"python -m {os.fsdecode(argv[2])}"
    return None


@pytest.fixture(autouse=True)
def _fast_tier_guard(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    if not request.config.getoption("fast"):
        yield
        return
    test = request.node.nodeid

    def refuse(program: str) -> None:
        pytest.fail(
            f"{test} starts {program} but is in the fast tier: mark it @pytest.mark.slow",
            pytrace=False,
        )

    original_init = subprocess.Popen.__init__

    def guarded_init(self: subprocess.Popen[Any], args: Any, *rest: Any, **kwargs: Any) -> None:
        program = _heavy_program(args)
        if program:
            refuse(program)
        original_init(self, args, *rest, **kwargs)

    monkeypatch.setattr(subprocess.Popen, "__init__", guarded_init)
    # dbt run in-process (dbtRunner) when the test module has imported it.
    dbt_main = sys.modules.get("dbt.cli.main")
    if dbt_main is not None:

        def guarded_invoke(self: Any, *args: Any, **kwargs: Any) -> Any:
            refuse("dbt (dbtRunner)")

        monkeypatch.setattr(dbt_main.dbtRunner, "invoke", guarded_invoke)
    yield
