"""What the fault tests share: a warehouse on either engine, table fingerprints, the CLI
as a subprocess, and the summary lines printed at the end of the session.

A table's fingerprint is the multiset of its rows over the spec's columns (lineage
columns left out: they differ between two loads of the same file). Two fingerprints
are compared row for row, so a difference is counted as rows lost and rows duplicated.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from loader_files import write_profiles
from olist_elt.load.loader import LoadReport, load
from olist_elt.load.sql import ident, qualified
from olist_elt.spec import OLIST_FILES, by_table

SCHEMA = "raw_olist"
Rows = Counter[tuple[Any, ...]]


@dataclass(frozen=True)
class Fingerprint:
    rows: int
    digest: str

    @staticmethod
    def of(rows: Rows) -> Fingerprint:
        digest = hashlib.sha256(repr(sorted(rows.items(), key=repr)).encode()).hexdigest()
        return Fingerprint(sum(rows.values()), digest[:16])


def lost_and_duplicated(expected: Rows, found: Rows) -> tuple[int, int]:
    return sum((expected - found).values()), sum((found - expected).values())


@dataclass
class Warehouse:
    """One target (DuckDB file or PostgreSQL database) with a profiles folder for it."""

    engine: str  # duckdb | postgres
    profiles: Path
    database: Path | None = None  # DuckDB
    dsn: str | None = None  # PostgreSQL
    _open: Any = None  # the connection of an open ``reading()`` block

    def load(self, source: str, schema: str = SCHEMA, **options: Any) -> LoadReport:
        return load(
            source, target=self.engine, profiles_dir=str(self.profiles), schema=schema, **options
        )

    def _connect(self) -> Any:
        if self.engine == "duckdb":
            import duckdb

            assert self.database is not None
            return duckdb.connect(str(self.database), read_only=True)
        import psycopg2

        connection = psycopg2.connect(self.dsn)
        connection.autocommit = True
        return connection

    @contextlib.contextmanager
    def reading(self) -> Iterator[Warehouse]:
        """Run the queries of the block on one connection (the loader must not be running)."""
        self._open = self._connect()
        try:
            yield self
        finally:
            self._open.close()
            self._open = None

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        connection = self._open or self._connect()
        try:
            cursor = connection.cursor()
            cursor.execute(sql)
            rows = cursor.fetchall() if cursor.description else []
            cursor.close()
            return rows
        finally:
            if connection is not self._open:
                connection.close()

    def rows(self, table: str, schema: str = SCHEMA) -> Rows:
        columns = ", ".join(ident(c) for c in by_table(table).column_names)
        return Counter(self.query(f"select {columns} from {qualified(schema, table)}"))

    def all_rows(self, schema: str = SCHEMA) -> dict[str, Rows]:
        return {spec.table: self.rows(spec.table, schema) for spec in OLIST_FILES}

    def load_ids(self, table: str, schema: str = SCHEMA) -> set[str]:
        sql = f"select distinct _load_id from {qualified(schema, table)}"
        return {r[0] for r in self.query(sql)}

    def runs(self, schema: str = SCHEMA) -> dict[str, str]:
        """Run rows of the audit table: load id -> status."""
        sql = (
            f"select load_id, status from {qualified(schema, '_load_runs')} where table_name = '*'"
        )
        return dict(self.query(sql))

    def cli(
        self,
        args: Sequence[str],
        env: dict[str, str] | None = None,
        timeout: float = 60,
        **options: Any,
    ) -> subprocess.CompletedProcess[str]:
        """``olist load`` in a child process (so that it can be killed, or run as another user)."""
        command = [sys.executable, "-m", "olist_elt", "load", *args]
        command += ["--profiles-dir", str(self.profiles), "--target", self.engine]
        return subprocess.run(
            command,
            env={**os.environ, **(env or {})},
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            **options,
        )


def duckdb_warehouse(folder: Path) -> Warehouse:
    database = folder / "wh" / "olist.duckdb"
    return Warehouse("duckdb", write_profiles(folder / "profiles", duckdb_path=database), database)


def postgres_warehouse(folder: Path, dsn: str) -> Warehouse:
    return Warehouse("postgres", write_profiles(folder / "profiles"), dsn=dsn)


@pytest.fixture(params=["duckdb", "postgres"])
def engine_warehouse(request: pytest.FixtureRequest, tmp_path: Path) -> Warehouse:
    """The same test on a DuckDB file and on a PostgreSQL database (OLIST_PG_* set)."""
    if request.param == "duckdb":
        return duckdb_warehouse(tmp_path)
    server = request.getfixturevalue("pg_env")
    database = request.getfixturevalue("pg_database")
    return postgres_warehouse(tmp_path, server.dsn(database))


# --- the figures the fault suites print at the end of the run -----------------------------


@dataclass
class FaultSummary:
    lines: list[str] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)

    def add(self, line: str) -> None:
        self.lines.append(line)

    def count(self, what: str, n: int = 1) -> None:
        self.counts[what] += n


_SUMMARY = FaultSummary()


@pytest.fixture(scope="session")
def fault_summary() -> Iterator[FaultSummary]:
    yield _SUMMARY


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if _SUMMARY.lines or _SUMMARY.counts:
        terminalreporter.section("fault and bad-input figures")
        for line in _SUMMARY.lines:
            terminalreporter.write_line(line)
        for what, n in sorted(_SUMMARY.counts.items()):
            terminalreporter.write_line(f"{what}: {n}")
