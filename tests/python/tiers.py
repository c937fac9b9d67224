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
    }
)
# `olist` subcommands that build, load or start a server; `olist --help` and the like are light.
HEAVY_OLIST_SUBCOMMANDS = frozenset({"run", "daily", "replay", "diff", "roles", "pg"})


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
    rest = words[1:] if isinstance(args, str) else [os.fsdecode(a) for a in argv[1:]]
    if name.startswith("olist") and ("--help" in rest or "-h" in rest):
        return None  # prints its help and exits
    if name in HEAVY_PROGRAMS:
        return name
    if name == "olist" and rest and rest[0] in HEAVY_OLIST_SUBCOMMANDS:
        return f"olist {rest[0]}"
    if name.startswith("python") and len(argv) > 2 and os.fsdecode(argv[1]) == "-m":
        module = os.fsdecode(argv[2]).split(".")[0]
        if module in {"dbt", "moto"}:
            return f"python -m {os.fsdecode(argv[2])}"
        if (
            module == "olist_elt"
            and len(argv) > 3
            and os.fsdecode(argv[3]) in HEAVY_OLIST_SUBCOMMANDS
        ):
            return f"python -m olist_elt {os.fsdecode(argv[3])}"
    return None


class _Guard:
    """Refuses heavy programs for the whole --fast session, fixtures of any scope included."""

    def __init__(self) -> None:
        self.current = "a fixture or collection"

    def refuse(self, program: str) -> None:
        pytest.fail(
            f"{self.current} starts {program} but is in the fast tier: mark it @pytest.mark.slow",
            pytrace=False,
        )

    def install(self) -> None:
        original_init = subprocess.Popen.__init__
        guard = self

        def guarded_init(self: subprocess.Popen[Any], args: Any, *rest: Any, **kwargs: Any) -> None:
            program = _heavy_program(args)
            if program:
                guard.refuse(program)
            original_init(self, args, *rest, **kwargs)

        subprocess.Popen.__init__ = guarded_init  # type: ignore[method-assign]
        # dbt in-process (dbtRunner); imported here so that a lazy import inside a fixture or
        # a loader function gets the guarded class too.
        from dbt.cli.main import dbtRunner

        def guarded_invoke(self: Any, *args: Any, **kwargs: Any) -> Any:
            guard.refuse("dbt (dbtRunner)")

        dbtRunner.invoke = guarded_invoke  # type: ignore[method-assign]


_GUARD = _Guard()


def pytest_configure(config: pytest.Config) -> None:
    if config.getoption("fast"):
        _GUARD.install()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    # Setup included: a module- or session-scoped fixture is set up inside the first test
    # that needs it, so the failure names that test.
    _GUARD.current = item.nodeid
    try:
        return (yield)
    finally:
        _GUARD.current = "a fixture or collection"
