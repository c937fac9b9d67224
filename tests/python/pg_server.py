"""pytest plugin: a throwaway PostgreSQL server on loopback, shared by the whole session.

Registered from conftest.py (``pytest_plugins``). Fixtures:

- ``pg_server`` (session): a started :class:`olist_elt.dev.postgres.PgServer` (host, port,
  user, password, database, ``dsn()``, ``env()``). One server per test session, initdb'd in
  a fresh temporary folder, listening on 127.0.0.1 on a free port, stopped and deleted at
  teardown. As root, initdb and the server run as the ``postgres`` OS user (initdb refuses
  root); the folder is handed to that user. When no server binaries are installed and we
  are root, Debian's ``postgresql`` package is installed with apt-get (non-interactive);
  otherwise the tests that need the server are skipped with the reason.
- ``pg_database`` (function): the name of a new empty database on that server, dropped
  after the test, so tests never see each other's tables.
- ``pg_env`` (function): ``monkeypatch``-es the ``OLIST_PG_*`` variables that
  profiles.yml.example reads to point at ``pg_database``; returns the server.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from olist_elt.dev import postgres as devserver

log = logging.getLogger(__name__)

# The free port is picked before the server binds it; another process can take it in
# between, so starting is retried a few times with a new port.
START_ATTEMPTS = 3


def _ensure_binaries() -> None:
    """Install Debian's PostgreSQL when the binaries are missing and we may (root)."""
    try:
        devserver.find_bin_dir()
        return
    except devserver.DevServerError as missing:
        if os.geteuid() != 0:
            pytest.skip(f"{missing} (not root, so not installing it)")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (
        ["apt-get", "update", "-qq"],
        ["apt-get", "install", "-y", "-qq", "--no-install-recommends", "postgresql"],
    ):
        result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            pytest.fail(
                f"PostgreSQL binaries missing and `{' '.join(command)}` failed "
                f"(exit {result.returncode}):\n{result.stdout[-2000:]}{result.stderr[-2000:]}"
            )
    devserver.find_bin_dir()


@pytest.fixture(scope="session")
def pg_server() -> Iterator[devserver.PgServer]:
    """A running PostgreSQL server for the session (see the module docstring)."""
    _ensure_binaries()
    error: Exception | None = None
    for attempt in range(1, START_ATTEMPTS + 1):
        # Not under pytest's tmp_path: that is private to root, and the server user
        # must reach its own folder.
        base_dir = Path(tempfile.mkdtemp(prefix="olist-pg-"))
        try:
            server = devserver.start(base_dir)
            break
        except devserver.DevServerError as exc:  # most likely the port was taken meanwhile
            log.warning("PostgreSQL start attempt %d failed: %s", attempt, exc)
            shutil.rmtree(base_dir, ignore_errors=True)
            error = exc
    else:
        raise RuntimeError(f"could not start PostgreSQL: {error}") from error
    try:
        yield server
    finally:
        devserver.stop(server)


def admin(server: devserver.PgServer, sql: str) -> None:
    """Run one statement on the server's `postgres` database, outside a transaction."""
    import psycopg2

    connection = psycopg2.connect(server.dsn("postgres"))
    try:
        connection.autocommit = True
        with connection.cursor() as cursor:
            cursor.execute(sql)
    finally:
        connection.close()


def query(dsn: str, sql: str) -> list[tuple[Any, ...]]:
    """Run one statement on a database (a fresh connection) and return its rows, if any."""
    import psycopg2

    return query_once(psycopg2.connect(dsn), sql)


def query_once(connection: Any, sql: str) -> list[tuple[Any, ...]]:
    """Run one statement on an open connection, close it, and return the rows, if any."""
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql)
            return cursor.fetchall() if cursor.description else []
    finally:
        connection.close()


@pytest.fixture
def pg_database(pg_server: devserver.PgServer) -> Iterator[str]:
    """A new empty database on the session server, dropped after the test."""
    name = f"test_{uuid.uuid4().hex[:12]}"
    devserver.create_database(pg_server, name)
    try:
        yield name
    finally:
        admin(pg_server, f'drop database if exists "{name}" with (force)')


@pytest.fixture
def pg_env(
    pg_server: devserver.PgServer, pg_database: str, monkeypatch: pytest.MonkeyPatch
) -> devserver.PgServer:
    """Point the OLIST_PG_* variables (read by profiles.yml.example) at ``pg_database``."""
    for key, value in pg_server.env().items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("OLIST_PG_DATABASE", pg_database)
    return pg_server
