"""Disk full and a read-only database: a clear error, the previous data intact.

The tests run as root, for whom file modes change nothing, so the faults are real
filesystem ones:

- disk full: the database (DuckDB file; PostgreSQL tables moved to a tablespace) lives on
  a small tmpfs; a filler file leaves too little space for the new load, which gets
  ENOSPC. Where mounting is not allowed, DuckDB's case uses RLIMIT_FSIZE in the loader's
  child process instead (EFBIG: same code path, the write fails).
- read-only: the DuckDB file sits on a tmpfs remounted read-only (EROFS, root included);
  PostgreSQL's database is set to ``default_transaction_read_only``.

After each failure, the space or the write access comes back and a rerun completes.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import resource
import shutil
import signal
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg2
import pytest

from fault_harness import SCHEMA, FaultSummary, Warehouse, duckdb_warehouse, postgres_warehouse
from loader_files import write_set, write_table
from olist_elt.dev import postgres as devserver
from olist_elt.spec import OLIST_FILES

pytestmark = pytest.mark.faults

BIG = "geolocation"


@contextlib.contextmanager
def tmpfs(size: str, owner: str | None = None) -> Iterator[Path]:
    """A fresh tmpfs mount (skips the test where mounting is not permitted)."""
    mount_point = Path(f"/tmp/olist-fault-{uuid.uuid4().hex[:10]}")
    mount_point.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", str(mount_point)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        mount_point.rmdir()
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        if owner:
            shutil.chown(mount_point, owner, owner)
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)
        mount_point.rmdir()


def can_mount() -> bool:
    try:
        with tmpfs("64k"):
            return True
    except pytest.skip.Exception:
        return False


def fill(folder: Path, leave: int) -> Path:
    """Take all the free space of the filesystem but ``leave`` bytes."""
    stats = os.statvfs(folder)
    free = stats.f_bavail * stats.f_frsize
    filler = folder / "filler"
    with open(filler, "wb") as handle:
        handle.truncate(0)
        chunk = b"\0" * (1 << 20)
        remaining = max(free - leave, 0)
        while remaining:
            remaining -= handle.write(chunk[: min(remaining, len(chunk))])
    return filler


def versions(tmp_path: Path) -> tuple[Path, Path]:
    old, new = tmp_path / "old", tmp_path / "new"
    write_set(old, count=3, tag="old")
    write_set(new, count=4, tag="new")
    write_table(new, BIG, 10_000, tag="new")  # 1.3 MB: more than the space left
    return old, new


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def one_line_errors(out: str) -> list[str]:
    """The error lines the CLI printed under its failed tables."""
    lines = out.splitlines()
    return [lines[i + 1].strip() for i, line in enumerate(lines[:-1]) if line.endswith("failed")]


def _assert_intact(wh: Warehouse, before: dict[str, object], tables: list[str]) -> None:
    with wh.reading():
        for table in tables:
            assert wh.rows(table) == before[table], f"{table} changed"


@pytest.mark.parametrize("how", ["tmpfs", "rlimit"])
def test_duckdb_disk_full(how: str, tmp_path: Path, fault_summary: FaultSummary) -> None:
    old, new = versions(tmp_path)
    with contextlib.ExitStack() as stack:
        folder = stack.enter_context(tmpfs("24m")) if how == "tmpfs" else tmp_path / "db"
        wh = duckdb_warehouse(folder)
        assert wh.load(str(old)).ok
        before = wh.all_rows()
        assert wh.database is not None
        if how == "tmpfs":
            filler = fill(folder, leave=64 * 1024)
            failed = wh.cli([str(new)])
        else:
            # Below the new data's size in the write-ahead log (the file limit is per file).
            limit = 200 * 1024

            def small_files() -> None:
                signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG instead of a signal
                resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

            failed = wh.cli([str(new)], preexec_fn=small_files)
        assert failed.returncode == 1, failed.stdout + failed.stderr
        assert "Traceback" not in failed.stdout + failed.stderr
        errors = one_line_errors(failed.stdout)
        assert errors, failed.stdout
        expected = "No space left on device" if how == "tmpfs" else "File too large"
        assert any(expected in e for e in errors), errors
        assert any(
            "the previous contents are kept" in e or "nothing was loaded" in e for e in errors
        )
        # Every table is the old version or the new one, whole; the big one is the old.
        with wh.reading():
            after = wh.all_rows()
        assert after[BIG] == before[BIG]
        new_rows = {t: r for t, r in after.items() if r != before[t]}
        assert all(len(wh.load_ids(t)) == 1 for t in after)
        if how == "tmpfs":
            filler.unlink()
        rerun = wh.cli([str(new)])
        assert rerun.returncode == 0, rerun.stdout + rerun.stderr
        assert wh.rows(BIG) != before[BIG]
    fault_summary.count("disk full (DuckDB): failed cleanly, rerun complete", 1)
    fault_summary.add(
        f"disk full on DuckDB ({how}): {len(new_rows)} tables loaded before the disk filled, "
        f"{len(OLIST_FILES) - len(new_rows)} kept whole at the previous version"
    )


def test_duckdb_read_only_file(tmp_path: Path, fault_summary: FaultSummary) -> None:
    old, new = versions(tmp_path)
    with tmpfs("16m") as folder:
        wh = duckdb_warehouse(folder)
        assert wh.load(str(old)).ok
        assert wh.database is not None
        before_bytes = digest(wh.database)
        subprocess.run(["mount", "-o", "remount,ro", str(folder)], check=True)
        done = wh.cli([str(new)])
        assert done.returncode == 1
        errors = one_line_errors(done.stdout)
        assert len(errors) == len(OLIST_FILES)
        assert all(f"cannot open DuckDB database {wh.database}" in e for e in errors), errors
        assert "Read-only file system" in errors[0]
        assert "Traceback" not in done.stdout + done.stderr
        assert digest(wh.database) == before_bytes
        subprocess.run(["mount", "-o", "remount,rw", str(folder)], check=True)
        assert wh.load(str(new)).ok
    fault_summary.count("read-only database (DuckDB, PostgreSQL): failed cleanly", 1)


def test_postgres_disk_full(
    pg_env: devserver.PgServer, pg_database: str, tmp_path: Path, fault_summary: FaultSummary
) -> None:
    old, new = versions(tmp_path)
    wh = postgres_warehouse(tmp_path, pg_env.dsn(pg_database))
    assert wh.load(str(old)).ok
    before = wh.all_rows()
    space = f"olist_small_{uuid.uuid4().hex[:8]}"
    admin = psycopg2.connect(pg_env.dsn(pg_database))
    admin.autocommit = True
    cursor = admin.cursor()
    with tmpfs("1m", owner=devserver.SERVER_OS_USER if os.geteuid() == 0 else None) as folder:
        try:
            cursor.execute(f"create tablespace {space} location '{folder}'")
            for spec in OLIST_FILES:
                cursor.execute(f"alter table {SCHEMA}.{spec.table} set tablespace {space}")
            failed = wh.cli([str(new)])
            assert failed.returncode == 1, failed.stdout + failed.stderr
            errors = one_line_errors(failed.stdout)
            # Tables load in parallel: a small one loading next to the large geolocation
            # can hit the full disk too. Each failure names its own file.
            assert any("olist_geolocation_dataset.csv" in error for error in errors), errors
            assert all(
                "No space left on device" in error and "_dataset.csv" in error for error in errors
            ), errors
            assert wh.rows(BIG) == before[BIG]
            assert all(len(wh.load_ids(spec.table)) == 1 for spec in OLIST_FILES)
        finally:
            for spec in OLIST_FILES:
                cursor.execute(f"alter table {SCHEMA}.{spec.table} set tablespace pg_default")
            cursor.execute(f"drop tablespace if exists {space}")
            admin.close()
    assert wh.load(str(new)).ok
    assert wh.rows(BIG) != before[BIG]
    fault_summary.count("disk full (PostgreSQL tablespace on tmpfs): failed cleanly", 1)


def test_postgres_read_only_database(
    pg_env: devserver.PgServer, pg_database: str, tmp_path: Path
) -> None:
    old, new = versions(tmp_path)
    wh = postgres_warehouse(tmp_path, pg_env.dsn(pg_database))
    assert wh.load(str(old)).ok
    before = wh.all_rows()
    admin = psycopg2.connect(pg_env.dsn(pg_database))
    admin.autocommit = True
    admin.cursor().execute(f'alter database "{pg_database}" set default_transaction_read_only = on')
    done = wh.cli([str(new)])
    assert done.returncode == 1
    errors = one_line_errors(done.stdout)
    assert errors and all("read-only transaction" in e for e in errors), errors
    assert all("nothing was loaded" in e for e in errors)
    assert "Traceback" not in done.stdout + done.stderr
    _assert_intact(wh, before, [spec.table for spec in OLIST_FILES])
    admin.cursor().execute(f'alter database "{pg_database}" reset default_transaction_read_only')
    admin.close()
    assert wh.load(str(new)).ok
