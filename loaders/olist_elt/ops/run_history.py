"""Keep dbt's run_results.json of every run, as files and as rows analysts can query.

    olist history archive target/run_results.json --history-dir run-history
    olist history load run-history/2018-08-15 [--target postgres]

`archive` copies a run_results.json to ``<history>/<day>/<invocation id>/run_results.json``
(dbt overwrites target/ on the next command). `load` reads every run_results.json under a
folder and writes one row per node result into ``ops.dbt_run_results`` of the warehouse the
profile points at, replacing the rows of an invocation loaded before (loading twice changes
nothing). The failing rows of a test are in the schema of the stored test failures
(``store_failures`` in dbt_project.yml); this table says which tests failed, when, and how.

``archive_cosmos_artifacts`` is the same archive step as an astronomer-cosmos callback; it
imports only the standard library, for the Airflow virtualenv.
"""

from __future__ import annotations

import json
import logging
import shutil
from collections.abc import Iterable, Mapping
from dataclasses import astuple, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

log = logging.getLogger("olist_elt.ops.run_history")

SCHEMA = "ops"
TABLE = "dbt_run_results"
RESULTS_FILE = "run_results.json"
MESSAGE_LIMIT = 60_000  # Redshift varchar(65535) holds bytes, not characters

COLUMNS = (
    ("invocation_id", "varchar(64)"),
    ("generated_at", "timestamp"),
    ("command", "varchar(64)"),
    ("run_label", "varchar(256)"),
    ("unique_id", "varchar(1024)"),
    ("resource_type", "varchar(64)"),
    ("node_name", "varchar(1024)"),
    ("status", "varchar(32)"),
    ("failures", "integer"),
    ("execution_seconds", "double precision"),
    ("relation_name", "varchar(1024)"),
    ("message", "varchar(65535)"),
    ("source_file", "varchar(1024)"),
    ("recorded_at", "timestamp"),
)


@dataclass(frozen=True)
class ResultRow:
    invocation_id: str
    generated_at: str
    command: str
    run_label: str
    unique_id: str
    resource_type: str
    node_name: str
    status: str
    failures: int | None
    execution_seconds: float
    relation_name: str | None
    message: str | None
    source_file: str
    recorded_at: str


def read_results(path: Path, run_label: str = "") -> list[ResultRow]:
    """One row per node result of a run_results.json."""
    try:
        document = json.loads(path.read_text())
        metadata = document["metadata"]
        results = document["results"]
    except (OSError, ValueError, KeyError) as exc:
        raise ValueError(f"{path}: not a dbt run_results.json ({exc})") from exc
    recorded_at = _timestamp(datetime.now(UTC).isoformat())
    command = str((document.get("args") or {}).get("which", ""))
    rows = []
    for result in results:
        unique_id = str(result["unique_id"])
        message = result.get("message")
        rows.append(
            ResultRow(
                invocation_id=str(metadata["invocation_id"]),
                generated_at=_timestamp(str(metadata["generated_at"])),
                command=command,
                run_label=run_label,
                unique_id=unique_id,
                resource_type=unique_id.split(".", 1)[0],
                # <type>.<package>.<name>[.<hash of a generic test>]
                node_name=unique_id.split(".")[2] if unique_id.count(".") >= 2 else unique_id,
                status=str(result["status"]),
                failures=result.get("failures"),
                execution_seconds=float(result.get("execution_time") or 0.0),
                relation_name=result.get("relation_name"),
                message=str(message)[:MESSAGE_LIMIT] if message is not None else None,
                source_file=str(path),
                recorded_at=recorded_at,
            )
        )
    return rows


def _timestamp(iso: str) -> str:
    # dbt writes 2026-11-28T01:39:21.123456Z; every engine casts '2026-11-28 01:39:21.123456'.
    return iso.replace("T", " ").removesuffix("Z").split("+")[0]


def archive(run_results: Path, history_dir: Path, day: str | None = None) -> Path:
    """Copy a run_results.json into the history; return the copy's path."""
    document = json.loads(run_results.read_text())
    metadata = document["metadata"]
    day = day or _timestamp(str(metadata["generated_at"]))[:10]
    folder = history_dir / day / str(metadata["invocation_id"])
    folder.mkdir(parents=True, exist_ok=True)
    copy = folder / RESULTS_FILE
    shutil.copyfile(run_results, copy)
    return copy


def archive_cosmos_artifacts(
    project_dir: str, context: Mapping[str, Any] | None = None, history_dir: str = "", **_: Any
) -> None:
    """cosmos ``callback``: keep the task's run_results.json under <history>/<day>/<run>/<task>/.

    cosmos calls it after dbt, failed or not, with the task's temporary project folder.
    """
    source = Path(project_dir) / "target" / RESULTS_FILE
    if not source.is_file():
        log.warning("no %s in %s: nothing archived", RESULTS_FILE, project_dir)
        return
    context = context or {}
    ti = context.get("ti") or context.get("task_instance")
    run_id = str(context.get("run_id") or "manual").replace(":", "_").replace("+", "_")
    task_id = str(getattr(ti, "task_id", "dbt"))
    folder = Path(history_dir) / str(context.get("ds") or "undated") / run_id / task_id
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, folder / RESULTS_FILE)
    log.info("archived %s to %s", source, folder)


def find_results(folder: Path) -> list[Path]:
    return sorted(folder.rglob(RESULTS_FILE))


def load(
    paths: Iterable[Path],
    *,
    run_label: str = "",
    target: str | None = None,
    profiles_dir: str | None = None,
    schema: str = SCHEMA,
) -> int:
    """Write the results of these files into <schema>.dbt_run_results; return the row count."""
    from olist_elt.load.sql import ident
    from olist_elt.load.targets import make_target
    from olist_elt.profiles import read_target

    rows_by_invocation: dict[str, list[ResultRow]] = {}
    for path in paths:
        for row in read_results(path, run_label):
            rows_by_invocation.setdefault(row.invocation_id, []).append(row)
    warehouse = make_target(read_target(profiles_dir, target), schema)
    relation = warehouse.relation(TABLE)
    columns = ", ".join(name for name, _ in COLUMNS)
    try:
        warehouse.connect()
        # Only when missing: PostgreSQL refuses `create schema if not exists` to a role
        # without CREATE on the database even when the schema exists (docs/roles.md: the
        # transformer owns `ops` but may not create schemas).
        exists = warehouse.execute(
            "select count(*) from information_schema.schemata "
            f"where schema_name = {warehouse.lit(schema)}"
        )
        if not exists or not exists[0][0]:
            warehouse.execute(f"create schema if not exists {ident(schema)}")
        warehouse.execute(
            f"create table if not exists {relation} ("
            + ", ".join(f"{name} {kind}" for name, kind in COLUMNS)
            + ")"
        )
        for invocation_id, rows in rows_by_invocation.items():
            warehouse.execute("begin")
            warehouse.execute(
                f"delete from {relation} where invocation_id = {warehouse.lit(invocation_id)}"
            )
            values = ",\n".join(_values(warehouse, row) for row in rows)
            warehouse.execute(f"insert into {relation} ({columns}) values\n{values}")
            warehouse.execute("commit")
    finally:
        warehouse.close()
    return sum(len(rows) for rows in rows_by_invocation.values())


def _values(warehouse: Any, row: ResultRow) -> str:
    literals = []
    for (_, kind), value in zip(COLUMNS, astuple(row), strict=True):
        if value is None:
            literals.append("null")
        elif kind == "timestamp":
            literals.append(f"cast({warehouse.lit(value)} as timestamp)")
        elif isinstance(value, int | float):
            literals.append(repr(value))
        else:
            literals.append(warehouse.lit(value))
    return f"({', '.join(literals)})"
