"""Two loaders on one target at once: the second fails with a clear message, or waits.

The first loader (a child process) is held open in the middle of its run with
``OLIST_FAULT_PAUSE_AT`` (it sleeps after three tables); the second starts meanwhile.
DuckDB: the database file's lock; PostgreSQL: the loader's advisory lock.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest

from fault_harness import SCHEMA, FaultSummary, Warehouse
from loader_files import write_set
from olist_elt.load import faults
from olist_elt.spec import OLIST_FILES

pytestmark = pytest.mark.faults

PAUSE_SECONDS = 3


def _start_paused(wh: Warehouse, source: Path) -> subprocess.Popen[str]:
    """A loader that stops for a while before its fourth table, holding the target."""
    command = [sys.executable, "-m", "olist_elt", "load", str(source), "--force"]
    command += ["--profiles-dir", str(wh.profiles), "--target", wh.engine]
    child = subprocess.Popen(
        command,
        env={**os.environ, faults.PAUSE_ENV: f"table.start:4:{PAUSE_SECONDS}"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert child.stderr is not None
    line = child.stderr.readline()  # blocks until the pause is reached
    assert "paused at table.start" in line, line + child.stderr.read()
    return child


def _finish(child: subprocess.Popen[str]) -> str:
    out, err = child.communicate(timeout=60)
    assert child.returncode == 0, out + err
    return out


def _load_id(out: str) -> str:
    return out.rsplit("(load id ", 1)[1].split(")")[0]


def _second_while_first_loads(
    wh: Warehouse, sources: tuple[Path, Path], *options: str
) -> tuple[subprocess.CompletedProcess[str], str, int]:
    """olist load of the second source while a first one, paused, holds the target.

    Returns the second run, the first's output and the first's process id.
    """
    first_source, second_source = sources
    assert wh.load(str(first_source)).ok
    first = _start_paused(wh, first_source)
    try:
        second = wh.cli([str(second_source), *options])
    finally:
        first_out = _finish(first)
    return second, first_out, first.pid


@pytest.fixture
def sources(tmp_path: Path) -> tuple[Path, Path]:
    write_set(tmp_path / "A", count=3, tag="a")
    write_set(tmp_path / "B", count=4, tag="b")
    return tmp_path / "A", tmp_path / "B"


def test_second_loader_fails_with_a_clear_message(
    engine_warehouse: Warehouse, sources: tuple[Path, Path], fault_summary: FaultSummary
) -> None:
    wh = engine_warehouse
    second, out, first_pid = _second_while_first_loads(wh, sources)
    assert second.returncode == 1
    message = second.stdout
    if wh.engine == "duckdb":
        assert f"is in use by another process (PID {first_pid}, python" in message, message
        assert "DuckDB allows one writing process" in message
    else:
        assert f"another olist-load is loading schema {SCHEMA} of PostgreSQL database" in message
        assert "olist-load, connected" in message, message  # the holder's application name
    assert "--lock-wait" in message and "nothing was loaded" in message
    assert "Traceback" not in second.stdout + second.stderr
    # Every table holds the first loader's rows only: nothing of the second slipped in.
    loaded_by = _load_id(out)
    assert {t: wh.load_ids(t.table) for t in OLIST_FILES} == {t: {loaded_by} for t in OLIST_FILES}
    fault_summary.add(f"two loaders on {wh.engine}: the second failed with the lock message")


def test_second_loader_waits_with_lock_wait(
    engine_warehouse: Warehouse, sources: tuple[Path, Path], fault_summary: FaultSummary
) -> None:
    wh = engine_warehouse
    second, first_out, _ = _second_while_first_loads(wh, sources, "--lock-wait", "30")
    assert second.returncode == 0, second.stdout + second.stderr
    first_id, second_id = _load_id(first_out), _load_id(second.stdout)
    # The second run began only after the first had finished: no interleaved tables.
    with wh.reading():
        times = dict(
            wh.query(f"select load_id, finished_at from {SCHEMA}._load_runs where table_name = '*'")
        )
        starts = wh.query(  # of its tables (the run row's start includes the wait)
            f"select min(started_at) from {SCHEMA}._load_runs "
            f"where load_id = '{second_id}' and table_name <> '*'"
        )
        owners = {spec.table: wh.load_ids(spec.table) for spec in OLIST_FILES}
    assert isinstance(times[first_id], datetime)
    assert starts[0][0] >= times[first_id]
    assert owners == {spec.table: {second_id} for spec in OLIST_FILES}
    fault_summary.add(f"two loaders on {wh.engine}: with --lock-wait the second ran after")
