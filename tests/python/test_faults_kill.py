"""SIGKILL the loader at 21 points of a load, on DuckDB and on PostgreSQL.

The loader runs as a child process (``python -m olist_elt load``) reading from S3 (the
moto server), with ``OLIST_FAULT_KILL_AT=<checkpoint>:<n>`` set: it kills itself the n-th
time it reaches that checkpoint (olist_elt/load/faults.py), which covers the download, the
COPY, the moments between tables, the swap, the audit row and the run's end.

Two versions of the nine files, A and B, sit under two prefixes; each round loads the
other version than the warehouse holds, so the warehouse before a kill is always one
complete version. After each kill the test checks, per table:

- it equals the clean load of the previous version or of the new one, row for row
  (its rows carry one load id: never a mix of two loads);
- the run row of the killed run is still ``started``;

then it reruns the load in-process and checks that it completes, that every table now
equals the clean load of the new version (rows lost and duplicated counted, must be 0),
and that the killed run is marked ``interrupted`` in the audit table.
"""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from fault_harness import (
    FaultSummary,
    Fingerprint,
    Rows,
    Warehouse,
    lost_and_duplicated,
)
from loader_files import write_set, write_table
from olist_elt.load import faults
from olist_elt.spec import OLIST_FILES
from s3_server import S3Server

pytestmark = pytest.mark.faults

# geolocation is made larger than one 1 MiB stream chunk, so kills land mid-object too:
# 8 one-chunk files + 2 chunks = 10 ``stream.chunk`` checkpoints per run.
BIG_TABLE, BIG_ROWS = "geolocation", 10_000
KILL_POINTS = (
    "run.locked:1",
    "run.started:1",
    "table.start:1",
    "stream.chunk:1",
    "table.swap:1",
    "table.copied:1",
    "table.audit:1",
    "table.committed:1",
    "table.start:3",
    "stream.chunk:3",
    "table.swap:3",
    "table.audit:4",
    "table.committed:4",
    "table.start:6",
    "stream.chunk:7",
    "table.copied:7",
    "table.swap:8",
    "table.audit:9",
    "table.committed:9",
    "stream.chunk:10",
    "run.finishing:1",
)


def _version(folder: Path, tag: str, rows: int, big_rows: int) -> None:
    write_set(folder, count=rows, tag=tag)
    write_table(folder, BIG_TABLE, big_rows, tag=tag)


@pytest.fixture
def versions(s3_env: S3Server, tmp_path: Path) -> dict[str, str]:
    """Two versions of the nine files in one bucket: version -> s3 URI."""
    bucket = s3_env.new_bucket("kill")
    uris = {}
    for tag, rows, big in (("A", 3, BIG_ROWS), ("B", 5, BIG_ROWS + 300)):
        folder = tmp_path / f"version-{tag}"
        _version(folder, tag.lower(), rows, big)
        s3_env.upload_folder(folder, bucket, f"{tag}/")
        uris[tag] = f"s3://{bucket}/{tag}/"
    return uris


def test_kill_anywhere_leaves_whole_tables_and_a_rerun_completes(
    engine_warehouse: Warehouse,
    versions: dict[str, str],
    tmp_path: Path,
    fault_summary: FaultSummary,
) -> None:
    wh = engine_warehouse
    # Clean loads of each version, in their own schemas: what a table may look like.
    clean: dict[str, dict[str, Rows]] = {}
    for tag, uri in versions.items():
        schema = f"clean_{tag.lower()}"
        assert wh.load(uri, schema=schema).ok
        clean[tag] = wh.all_rows(schema)
    assert all(clean["A"][t] != clean["B"][t] for t in clean["A"])
    fingerprints = {tag: {t: Fingerprint.of(r) for t, r in c.items()} for tag, c in clean.items()}

    first = wh.load(versions["A"])
    assert first.ok
    holds = "A"
    scratch = tmp_path / "child-tmp"
    scratch.mkdir()
    survived, lost, duplicated, mixed_tables, committed_before_kill = 0, 0, 0, 0, 0
    for point in KILL_POINTS:
        new = "B" if holds == "A" else "A"
        done = wh.cli(
            [versions[new], "--lock-wait", "0"],
            env={faults.ENV: point, "TMPDIR": str(scratch)},
        )
        assert done.returncode == -signal.SIGKILL, (
            f"{point}: the loader was not killed (exit {done.returncode}): {done.stdout}"
            f"{done.stderr}"
        )
        # Each table is one whole version, loaded by one run.
        with wh.reading():
            for spec in OLIST_FILES:
                found = Fingerprint.of(wh.rows(spec.table))
                version = next(
                    (v for v in (holds, new) if fingerprints[v][spec.table] == found), None
                )
                mixed_tables += version is None
                assert version is not None, f"{point}: {spec.table} is neither version ({found})"
                assert len(wh.load_ids(spec.table)) == 1, f"{point}: {spec.table} mixes loads"
                committed_before_kill += version == new
            runs = wh.runs()
        started = [load_id for load_id, status in runs.items() if status == "started"]
        assert len(started) == (0 if point == "run.locked:1" else 1), (point, wh.runs())

        # The server frees a killed session's lock once its backend has noticed: allow it time.
        rerun = wh.load(versions[new], lock_wait=10)
        assert rerun.ok, (point, [t.error for t in rerun.tables if t.error])
        with wh.reading():
            runs = wh.runs()
            for spec in OLIST_FILES:
                gone, extra = lost_and_duplicated(clean[new][spec.table], wh.rows(spec.table))
                lost, duplicated = lost + gone, duplicated + extra
        assert runs[rerun.load_id] == "finished"
        for load_id in started:
            assert runs[load_id] == "interrupted", (point, runs)
        assert "started" not in runs.values()
        assert (lost, duplicated) == (0, 0), point
        survived += 1
        holds = new
    # A killed download leaves at most its scratch folder behind, never a table.
    assert mixed_tables == 0
    fault_summary.add(
        f"SIGKILL {wh.engine}: {survived}/{len(KILL_POINTS)} kill points survived "
        f"({committed_before_kill} tables committed before a kill, the rest left whole at the "
        f"previous version); rows lost {lost}, rows duplicated {duplicated}"
    )
