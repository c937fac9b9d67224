"""What a change to the dbt project does to the data, before it merges.

`diff()` builds the models the checkout changed and everything downstream of them
(dbt's own `state:modified+` against the baseline manifest) into review schemas beside
production, deferring every other parent to production, then compares each built
relation with its production twin: columns added, removed or retyped, row counts, rows
added/removed/changed by primary key with the columns that changed, and the totals of
numeric measures with their largest differences. `Report.markdown()` is the pull-request
comment.

The baseline is production's manifest and warehouse: locally the last `make run` kept
by `make baseline` in prod-state/ (manifest.json and, on DuckDB, olist.duckdb); in CI,
main's artifact. On DuckDB the production file is copied and the review schemas are
built inside the copy, so both sides are in one database; on PostgreSQL (and Redshift)
the review schemas are built in the production database.

The comparison is plain SQL that DuckDB, PostgreSQL and Redshift all run (no IS DISTINCT
FROM, which Redshift lacks; no GROUP BY ALL). Recce, the open tool for this, was tried
first: see docs/review.md for why it is not used.

    olist diff --baseline prod-state [--target duckdb|postgres]
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

from olist_elt.errors import ConfigError
from olist_elt.profiles import find_profiles_dir, read_target

log = logging.getLogger("olist_elt.review.diff")

PROJECT_ROOT = Path(__file__).resolve().parents[3]
PROFILE_NAME = "olist_elt"
DIFFED_TYPES = ("model", "seed", "snapshot")
EXAMPLES = 3
# Numeric columns that identify rather than measure: not summed.
_NOT_A_MEASURE = re.compile(r"(_id|_key|_prefix|_rank|_sequential|_year|_month)$|^is_|^has_")
_NUMERIC_TYPE = re.compile(r"int|numeric|decimal|double|real|float|money", re.IGNORECASE)
_APPROXIMATE_TYPE = re.compile(r"double|real|float", re.IGNORECASE)
# Floating-point values closer than this, relative to their size, are the same value.
APPROXIMATE_TOLERANCE = 1e-9


class DiffError(ConfigError):
    """The diff cannot run (no baseline, a baseline of another project, a bad option)."""


# --- what the report holds --------------------------------------------------------------


@dataclass
class ColumnChange:
    column: str
    rows: int
    examples: list[str] = field(default_factory=list)


@dataclass
class Measure:
    column: str
    base_total: float | None
    current_total: float | None
    # (key, base value, current value) of the rows that moved most.
    largest: list[tuple[str, Any, Any]] = field(default_factory=list)

    @property
    def delta(self) -> float | None:
        if self.base_total is None and self.current_total is None:
            return None
        return (self.current_total or 0) - (self.base_total or 0)


@dataclass
class RelationDiff:
    unique_id: str
    name: str
    modified: bool
    status: str  # compared | new | error | skipped | ephemeral | missing-in-baseline
    message: str = ""
    base_relation: str = ""
    current_relation: str = ""
    primary_key: list[str] = field(default_factory=list)
    compared_by: str = ""  # "primary key (...)" or "row multiset"
    added_columns: list[str] = field(default_factory=list)
    removed_columns: list[str] = field(default_factory=list)
    retyped_columns: list[tuple[str, str, str]] = field(default_factory=list)
    rows_base: int | None = None
    rows_current: int | None = None
    rows_added: int | None = None
    rows_removed: int | None = None
    rows_changed: int | None = None
    changed_columns: list[ColumnChange] = field(default_factory=list)
    added_examples: list[str] = field(default_factory=list)
    removed_examples: list[str] = field(default_factory=list)
    measures: list[Measure] = field(default_factory=list)

    @property
    def data_changed(self) -> bool:
        return bool(
            self.added_columns
            or self.removed_columns
            or self.retyped_columns
            or self.rows_added
            or self.rows_removed
            or self.rows_changed
        )


@dataclass
class Report:
    target: str
    baseline: str
    modified: list[str]
    reached: list[str]
    edges: list[tuple[str, str]]
    relations: list[RelationDiff]
    build_seconds: float = 0.0
    compare_seconds: float = 0.0

    def relation(self, name: str) -> RelationDiff:
        for item in self.relations:
            if item.name == name:
                return item
        raise KeyError(f"{name} is not in the diff (diffed: {[r.name for r in self.relations]})")

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, default=str)

    def markdown(self) -> str:
        return render_markdown(self)


# --- the warehouse ------------------------------------------------------------------------


class Warehouse:
    """One connection to the warehouse, for read-only queries."""

    def __init__(self, target_type: str, settings: dict[str, Any], duckdb_path: Path | None):
        self.type = target_type
        if target_type == "duckdb":
            import duckdb

            self._conn = duckdb.connect(str(duckdb_path), read_only=True)
        elif target_type == "postgres":
            import psycopg2

            self._conn = psycopg2.connect(
                host=settings.get("host"),
                port=settings.get("port"),
                user=settings.get("user"),
                password=settings.get("password"),
                dbname=settings.get("dbname") or settings.get("database"),
            )
            self._conn.set_session(readonly=True, autocommit=True)
        elif target_type == "redshift":
            import redshift_connector

            self._conn = redshift_connector.connect(
                host=settings.get("host"),
                port=int(settings.get("port") or 5439),
                user=settings.get("user"),
                password=settings.get("password"),
                database=settings.get("dbname") or settings.get("database"),
            )
            self._conn.autocommit = True
        else:
            raise DiffError(f"target type {target_type!r}: expected duckdb, postgres or redshift")

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        log.debug("%s", sql)
        cursor = self._conn.cursor()
        try:
            cursor.execute(sql)
            return [tuple(row) for row in cursor.fetchall()]
        finally:
            cursor.close()

    def columns(self, schema: str, name: str) -> dict[str, str]:
        """Column name -> type, in table order; empty when the relation does not exist."""
        rows = self.query(columns_sql(schema, name))
        return {str(row[0]).lower(): column_type(*row[1:]) for row in rows}

    def close(self) -> None:
        self._conn.close()


# --- SQL (DuckDB, PostgreSQL and Redshift alike) ------------------------------------------


def quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def relation_sql(schema: str, name: str) -> str:
    return f"{quote(schema)}.{quote(name)}"


def columns_sql(schema: str, name: str) -> str:
    return (
        "select column_name, data_type, numeric_precision, numeric_scale\n"
        "from information_schema.columns\n"
        f"where table_schema = {literal(schema)} and table_name = {literal(name)}\n"
        "order by ordinal_position"
    )


def column_type(data_type: Any, precision: Any = None, scale: Any = None) -> str:
    text = str(data_type).lower()
    if text in ("numeric", "decimal") and precision is not None:
        return f"numeric({precision},{scale or 0})"
    return text.replace("decimal", "numeric")


def differs(left: str, right: str, approximate: bool = False) -> str:
    """True when two values differ, nulls included (what IS DISTINCT FROM says elsewhere).

    ``approximate`` (floating-point columns): equal within a relative APPROXIMATE_TOLERANCE.
    A float sum or average is not bitwise reproducible (engines add in parallel, in an
    order that varies from run to run), so the same data built twice can differ in the last
    bits; read from a view, it does on every read.
    """
    unequal = (
        f"abs({left} - {right}) > {APPROXIMATE_TOLERANCE!r} * greatest(abs({left}), abs({right}))"
        if approximate
        else f"{left} <> {right}"
    )
    return (
        f"({unequal} or ({left} is null and {right} is not null)"
        f" or ({left} is not null and {right} is null))"
    )


def column_differs(column: str, as_text: Collection[str], approximate: Collection[str]) -> str:
    """A column of the baseline (b) against the current version (c)."""
    return differs(
        _value("b", column, column in as_text),
        _value("c", column, column in as_text),
        column in approximate and column not in as_text,
    )


def _value(alias: str, column: str, as_text: bool) -> str:
    ref = f"{alias}.{quote(column)}"
    return f"cast({ref} as varchar)" if as_text else ref


def key_compare_sql(
    base: str,
    current: str,
    key: Sequence[str],
    columns: Sequence[str],
    as_text: set[str],
    approximate: Collection[str] = (),
) -> str:
    """One row per side (added, removed, both): rows, rows changed, then rows changed per column."""
    on = " and ".join(f"b.{quote(k)} = c.{quote(k)}" for k in key)
    flags = [
        f"case when {column_differs(col, as_text, approximate)} then 1 else 0 end as d{index}"
        for index, col in enumerate(columns)
    ]
    any_flag = " + ".join(f"d{index}" for index in range(len(columns))) or "0"
    sums = "".join(f",\n    sum(d{index})" for index in range(len(columns)))
    first = quote(key[0])
    flag_list = "".join(f",\n        {flag}" for flag in flags)
    return (
        "with joined as (\n"
        "    select\n"
        f"        case when b.{first} is null then 'added'"
        f" when c.{first} is null then 'removed' else 'both' end as diff_side"
        f"{flag_list}\n"
        f"    from {base} as b\n"
        f"    full outer join {current} as c\n"
        f"        on {on}\n"
        ")\n"
        "select\n"
        "    diff_side,\n"
        "    count(*),\n"
        f"    sum(case when {any_flag} > 0 then 1 else 0 end)"
        f"{sums}\n"
        "from joined\n"
        "group by diff_side"
    )


def key_examples_sql(
    base: str, current: str, key: Sequence[str], where: str, join: str = "inner"
) -> str:
    """Keys of up to EXAMPLES rows matching `where` (b = baseline, c = current)."""
    on = " and ".join(f"b.{quote(k)} = c.{quote(k)}" for k in key)
    side = "b" if join == "removed" else "c"
    keys = ", ".join(f"{side}.{quote(k)}" for k in key)
    if join == "inner":
        source = f"{base} as b\ninner join {current} as c\n    on {on}"
    elif join == "added":
        source = f"{current} as c\nleft join {base} as b\n    on {on}"
    else:
        source = f"{base} as b\nleft join {current} as c\n    on {on}"
    return f"select {keys}\nfrom {source}\nwhere {where}\norder by {keys}\nlimit {EXAMPLES}"


def largest_differences_sql(
    base: str, current: str, key: Sequence[str], column: str, approximate: bool = False
) -> str:
    on = " and ".join(f"b.{quote(k)} = c.{quote(k)}" for k in key)
    keys = ", ".join(f"c.{quote(k)}" for k in key)
    b_col, c_col = f"b.{quote(column)}", f"c.{quote(column)}"
    return (
        f"select {keys}, {b_col}, {c_col}\n"
        f"from {base} as b\n"
        f"inner join {current} as c\n"
        f"    on {on}\n"
        f"where {differs(b_col, c_col, approximate)}\n"
        f"order by abs(coalesce({c_col}, 0) - coalesce({b_col}, 0)) desc, {keys}\n"
        f"limit {EXAMPLES}"
    )


def multiset_compare_sql(base: str, current: str, columns: Sequence[str], as_text: set[str]) -> str:
    """Rows only in the baseline and rows only in the current build, duplicates counted."""
    b_cols = ", ".join(_value("b", col, col in as_text) + f" as {quote(col)}" for col in columns)
    c_cols = ", ".join(_value("c", col, col in as_text) + f" as {quote(col)}" for col in columns)
    group = ", ".join(quote(col) for col in columns)
    return (
        "with sides as (\n"
        f"    select 1 as in_base, 0 as in_current, {b_cols} from {base} as b\n"
        "    union all\n"
        f"    select 0 as in_base, 1 as in_current, {c_cols} from {current} as c\n"
        "),\n"
        "grouped as (\n"
        "    select sum(in_base) as n_base, sum(in_current) as n_current\n"
        "    from sides\n"
        f"    group by {group}\n"
        ")\n"
        "select\n"
        "    coalesce(sum(case when n_current > n_base then n_current - n_base else 0 end), 0),\n"
        "    coalesce(sum(case when n_base > n_current then n_base - n_current else 0 end), 0)\n"
        "from grouped"
    )


def totals_sql(relation: str, measures: Sequence[str]) -> str:
    sums = ", ".join(f"sum({quote(col)})" for col in measures)
    return f"select count(*){', ' + sums if sums else ''} from {relation}"


# --- the manifest -------------------------------------------------------------------------


def load_manifest(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DiffError(
            f"no baseline manifest at {path}: build production first (`make run`, then "
            "`make baseline` keeps it in prod-state/), or pass --baseline DIR"
        ) from None
    except json.JSONDecodeError as exc:
        raise DiffError(f"{path}: not a dbt manifest (invalid JSON: {exc})") from None


def check_baseline(manifest: dict[str, Any], path: Path, project_name: str, target_type: str):
    """The baseline must come from this project, this dbt and this kind of warehouse."""
    from dbt.artifacts.schemas.manifest import WritableManifest
    from dbt.version import __version__ as dbt_version

    meta = manifest.get("metadata") or {}
    found = meta.get("project_name")
    if found != project_name:
        raise DiffError(f"{path}: baseline of project {found!r}, expected {project_name!r}")
    expected_schema = str(WritableManifest.dbt_schema_version)
    if meta.get("dbt_schema_version") != expected_schema:
        raise DiffError(
            f"{path}: manifest schema {meta.get('dbt_schema_version')!r} (dbt "
            f"{meta.get('dbt_version')}), expected {expected_schema!r} (dbt {dbt_version}): "
            "rebuild the baseline with this version"
        )
    base_minor = ".".join(str(meta.get("dbt_version", "")).split(".")[:2])
    if base_minor != ".".join(dbt_version.split(".")[:2]):
        raise DiffError(
            f"{path}: baseline built by dbt {meta.get('dbt_version')}, this is dbt "
            f"{dbt_version}: rebuild the baseline with this version"
        )
    if meta.get("adapter_type") != target_type:
        raise DiffError(
            f"{path}: baseline built on {meta.get('adapter_type')!r}, diffing on "
            f"{target_type!r}: use a baseline of the same target"
        )


def primary_key(manifest: dict[str, Any], unique_id: str) -> list[str]:
    """The key the model's YAML declares: a column both unique and not_null (no `where`),
    else a unique_combination_of_columns; [] when it declares none."""
    unique: list[str] = []
    not_null: set[str] = set()
    combinations: list[list[str]] = []
    for node in manifest["nodes"].values():
        if node.get("resource_type") != "test" or node.get("attached_node") != unique_id:
            continue
        meta = node.get("test_metadata") or {}
        if (node.get("config") or {}).get("where"):
            continue
        kwargs = meta.get("kwargs") or {}
        column = kwargs.get("column_name") or node.get("column_name")
        if meta.get("name") == "unique" and column:
            unique.append(column.lower())
        elif meta.get("name") == "not_null" and column:
            not_null.add(column.lower())
        elif meta.get("name") == "unique_combination_of_columns":
            combination = kwargs.get("combination_of_columns") or []
            if isinstance(combination, list) and combination:
                combinations.append([str(col).lower() for col in combination])
    declared = [c.lower() for c in (manifest["nodes"][unique_id].get("columns") or {})]
    keys = [col for col in unique if col in not_null]
    if keys:
        return [min(keys, key=lambda c: declared.index(c) if c in declared else len(declared))]
    return combinations[0] if combinations else []


# --- dbt ----------------------------------------------------------------------------------


def _dbt(
    args: Sequence[str], project_dir: Path, profiles_dir: Path, env: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    dbt = Path(sys.executable).with_name("dbt")
    command = [str(dbt), *args, "--project-dir", str(project_dir)]
    command += ["--profiles-dir", str(profiles_dir)]
    log.info("dbt %s", " ".join(args))
    return subprocess.run(
        command, cwd=project_dir, env=env, capture_output=True, text=True, check=False
    )


def _listed(stdout: str) -> list[str]:
    ids = []
    for line in stdout.splitlines():
        line = line.strip()
        if line.startswith("{") and '"unique_id"' in line:
            ids.append(json.loads(line)["unique_id"])
    return ids


def review_profiles(
    profiles_dir: Path, target: str, schema: str, duckdb_path: Path | None, folder: Path
) -> Path:
    """A copy of the profile whose target writes to the review schema (and DuckDB copy)."""
    source = profiles_dir / "profiles.yml"
    document = yaml.safe_load(source.read_text(encoding="utf-8"))
    output = dict(document[PROFILE_NAME]["outputs"][target])
    output["schema"] = schema
    if duckdb_path is not None:
        output["path"] = str(duckdb_path)
    document = {PROFILE_NAME: {"target": target, "outputs": {target: output}}}
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "profiles.yml").write_text(yaml.safe_dump(document), encoding="utf-8")
    return folder


# --- the diff -----------------------------------------------------------------------------


def diff(
    baseline: Path,
    project_dir: Path = PROJECT_ROOT,
    target: str = "duckdb",
    profiles_dir: Path | None = None,
    review_schema: str = "review",
    work_dir: Path | None = None,
) -> Report:
    """Build state:modified+ into the review schemas and compare it with the baseline."""
    project_dir = project_dir.resolve()
    baseline = baseline.resolve()
    profiles_dir = find_profiles_dir(profiles_dir).resolve()
    work_dir = (work_dir or project_dir / "target" / "diff").resolve()
    profile = read_target(profiles_dir, target)
    project_name = yaml.safe_load((project_dir / "dbt_project.yml").read_text())["name"]
    base_manifest = load_manifest(baseline / "manifest.json")
    check_baseline(base_manifest, baseline / "manifest.json", project_name, profile.type)
    if not re.fullmatch(r"[a-z_][a-z0-9_]*", review_schema):
        raise DiffError(f"--review-schema {review_schema!r}: expected lowercase [a-z0-9_]")

    duckdb_path = None
    if profile.type == "duckdb":
        base_file = baseline / Path(str(profile.settings["path"])).name
        if not base_file.is_file():
            raise DiffError(
                f"no baseline warehouse at {base_file}: the baseline folder needs the "
                "DuckDB file production was built in (`make baseline` copies it)"
            )
        # Same file name, so the catalog name in production's views still resolves.
        duckdb_path = work_dir / "warehouse" / base_file.name
        duckdb_path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(base_file, duckdb_path)

    env = {**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    with tempfile.TemporaryDirectory(prefix="olist-diff-") as scratch:
        profiles = review_profiles(
            profiles_dir, target, review_schema, duckdb_path, Path(scratch) / "profiles"
        )
        common = ["--target", target, "--state", str(baseline)]
        listed = _dbt(
            [
                *("ls", "--select", "state:modified", *common),
                *("--target-path", str(work_dir / "ls"), "--resource-type", *DIFFED_TYPES),
                *("--output", "json", "--output-keys", "unique_id", "--quiet"),
            ],
            project_dir,
            profiles,
            env,
        )
        if listed.returncode != 0:
            raise DiffError(f"dbt ls --select state:modified failed: {_tail(listed)}")
        modified = _listed(listed.stdout)

        clock = time.perf_counter()
        run_results: dict[str, dict[str, Any]] = {}
        reached: list[str] = []
        results_file = work_dir / "target" / "run_results.json"
        results_file.unlink(missing_ok=True)  # not a previous diff's
        if modified:
            build = _dbt(
                [
                    *("build", "--select", "state:modified+", *common, "--defer", "--favor-state"),
                    *("--full-refresh", "--exclude-resource-type", "test", "unit_test"),
                    *("--target-path", str(work_dir / "target")),
                ],
                project_dir,
                profiles,
                env,
            )
            if not results_file.is_file():
                raise DiffError(f"dbt build of state:modified+ did not run: {_tail(build)}")
            # Every selected node has a result (success, error or skipped): the selection.
            for result in json.loads(results_file.read_text())["results"]:
                run_results[result["unique_id"]] = result
                if result["unique_id"].split(".")[0] in DIFFED_TYPES:
                    reached.append(result["unique_id"])
        build_seconds = time.perf_counter() - clock
        current_manifest = load_manifest(
            work_dir / ("target" if modified else "ls") / "manifest.json"
        )

    clock = time.perf_counter()
    warehouse = Warehouse(profile.type, profile.settings, duckdb_path)
    try:
        relations = [
            compare_node(
                warehouse, uid, uid in modified, base_manifest, current_manifest, run_results
            )
            for uid in reached
        ]
    finally:
        warehouse.close()
    reached_set = set(reached)
    edges = sorted(
        (parent, child)
        for parent, children in current_manifest.get("child_map", {}).items()
        if parent in reached_set
        for child in children
        if child in reached_set
    )
    return Report(
        target=profile.type,
        baseline=str(baseline),
        modified=sorted(modified),
        reached=sorted(set(reached) - set(modified)),
        edges=edges,
        relations=sorted(relations, key=lambda r: (not r.modified, r.unique_id)),
        build_seconds=round(build_seconds, 1),
        compare_seconds=round(time.perf_counter() - clock, 1),
    )


def _tail(run: subprocess.CompletedProcess[str]) -> str:
    lines = [line for line in (run.stdout + run.stderr).splitlines() if line.strip()]
    return " | ".join(lines[-3:])


def compare_node(
    warehouse: Warehouse,
    unique_id: str,
    modified: bool,
    base_manifest: dict[str, Any],
    current_manifest: dict[str, Any],
    run_results: dict[str, dict[str, Any]],
) -> RelationDiff:
    current = current_manifest["nodes"][unique_id]
    item = RelationDiff(unique_id=unique_id, name=current["name"], modified=modified, status="")
    if current.get("config", {}).get("materialized") == "ephemeral":
        item.status, item.message = "ephemeral", "no relation: compared through its children"
        return item
    result = run_results.get(unique_id)
    if result is None or result["status"] not in ("success", "pass"):
        item.status = "error" if result and result["status"] == "error" else "skipped"
        item.message = ((result or {}).get("message") or "not built").strip().splitlines()[0]
        return item
    schema, name = current["schema"], current.get("alias") or current["name"]
    item.current_relation = f"{schema}.{name}"
    base = base_manifest["nodes"].get(unique_id)
    if base is None:
        item.status, item.message = "new", "not in the baseline: a new relation"
        item.rows_current = warehouse.query(f"select count(*) from {relation_sql(schema, name)}")[
            0
        ][0]
        return item
    base_schema, base_name = base["schema"], base.get("alias") or base["name"]
    item.base_relation = f"{base_schema}.{base_name}"
    base_columns = warehouse.columns(base_schema, base_name)
    current_columns = warehouse.columns(schema, name)
    if not base_columns:
        item.status = "missing-in-baseline"
        item.message = f"{item.base_relation} is not in the baseline warehouse"
        return item
    item.status = "compared"
    if current["resource_type"] == "snapshot":
        # A snapshot's validity columns hold the build's time: compare what it records.
        base_columns = {c: t for c, t in base_columns.items() if not c.startswith("dbt_")}
        current_columns = {c: t for c, t in current_columns.items() if not c.startswith("dbt_")}
    compare_relation(
        warehouse,
        item,
        relation_sql(base_schema, base_name),
        relation_sql(schema, name),
        base_columns,
        current_columns,
        primary_key(current_manifest, unique_id),
    )
    return item


def compare_relation(
    warehouse: Warehouse,
    item: RelationDiff,
    base: str,
    current: str,
    base_columns: dict[str, str],
    current_columns: dict[str, str],
    key: list[str],
) -> None:
    item.added_columns = [c for c in current_columns if c not in base_columns]
    item.removed_columns = [c for c in base_columns if c not in current_columns]
    common = [c for c in current_columns if c in base_columns]
    item.retyped_columns = [
        (c, base_columns[c], current_columns[c])
        for c in common
        if base_columns[c] != current_columns[c]
    ]
    as_text = {c for c, _, _ in item.retyped_columns}
    measures = [
        c
        for c in common
        if c not in as_text
        and c not in key
        and _NUMERIC_TYPE.search(current_columns[c])
        and not _NOT_A_MEASURE.search(c)
    ]
    base_totals = warehouse.query(totals_sql(base, measures))[0]
    current_totals = warehouse.query(totals_sql(current, measures))[0]
    item.rows_base, item.rows_current = int(base_totals[0]), int(current_totals[0])
    item.measures = [
        Measure(col, _number(base_totals[i + 1]), _number(current_totals[i + 1]))
        for i, col in enumerate(measures)
    ]

    if key and all(k in common for k in key):
        item.primary_key = key
        item.compared_by = f"primary key ({', '.join(key)})"
        values = [c for c in common if c not in key]
        approximate = {c for c in values if _APPROXIMATE_TYPE.search(current_columns[c])}
        rows = warehouse.query(key_compare_sql(base, current, key, values, as_text, approximate))
        by_side = {row[0]: row for row in rows}
        item.rows_added = int(by_side.get("added", ("", 0))[1])
        item.rows_removed = int(by_side.get("removed", ("", 0))[1])
        both = by_side.get("both")
        item.rows_changed = int(both[2] or 0) if both else 0
        fmt = _key_formatter(key)
        for index, col in enumerate(values):
            count = int(both[3 + index] or 0) if both else 0
            if count:
                where = column_differs(col, as_text, approximate)
                examples = warehouse.query(key_examples_sql(base, current, key, where))
                item.changed_columns.append(ColumnChange(col, count, [fmt(r) for r in examples]))
        first = quote(key[0])
        if item.rows_added:
            rows = warehouse.query(
                key_examples_sql(base, current, key, f"b.{first} is null", "added")
            )
            item.added_examples = [fmt(r) for r in rows]
        if item.rows_removed:
            rows = warehouse.query(
                key_examples_sql(base, current, key, f"c.{first} is null", "removed")
            )
            item.removed_examples = [fmt(r) for r in rows]
        changed = {change.column for change in item.changed_columns}
        for measure in item.measures:
            if measure.column in changed:
                rows = warehouse.query(
                    largest_differences_sql(
                        base, current, key, measure.column, measure.column in approximate
                    )
                )
                measure.largest = [
                    (fmt(r[: len(key)]), _number(r[len(key)]), _number(r[len(key) + 1]))
                    for r in rows
                ]
    else:
        item.compared_by = (
            "row multiset (no primary key in the model's YAML: a changed row counts as one "
            "removed and one added)"
            if not key
            else f"row multiset (key {', '.join(key)} not in both versions)"
        )
        added, removed = warehouse.query(multiset_compare_sql(base, current, common, as_text))[0]
        item.rows_added, item.rows_removed = int(added), int(removed)


def _number(value: Any) -> float | None:
    if value is None:
        return None
    number = float(value)
    return int(number) if number.is_integer() else round(number, 6)


def _key_formatter(key: Sequence[str]) -> Callable[[Sequence[Any]], str]:
    def fmt(row: Sequence[Any]) -> str:
        if len(key) == 1:
            return str(row[0])
        return ", ".join(f"{col}={value}" for col, value in zip(key, row, strict=False))

    return fmt


# --- Markdown -----------------------------------------------------------------------------


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _signed(value: float | None) -> str:
    if value is None or value == 0:
        return "0"
    return ("+" if value > 0 else "-") + _fmt(abs(value))


def render_markdown(report: Report) -> str:
    changed = [r for r in report.relations if r.data_changed]
    lines = ["## Data diff", ""]
    lines.append(
        f"Compared with the baseline in `{Path(report.baseline).name}/` on {report.target}: "
        f"{len(report.modified)} modified, {len(report.reached)} downstream; "
        f"{len(changed)} of {len(report.relations)} relations have different data "
        f"(build {report.build_seconds:.0f} s, compare {report.compare_seconds:.0f} s)."
    )
    if not report.relations:
        lines += ["", "Nothing modified: no model, seed or snapshot differs from the baseline."]
        return "\n".join(lines) + "\n"

    lines += [
        "",
        "| relation | status | rows before → after | added | removed | changed | columns |",
    ]
    lines.append("|---|---|---:|---:|---:|---:|---|")
    for rel in report.relations:
        mark = "**modified**" if rel.modified else "downstream"
        cols = []
        cols += [f"+{c}" for c in rel.added_columns]
        cols += [f"-{c}" for c in rel.removed_columns]
        cols += [f"{c}: {old}→{new}" for c, old, new in rel.retyped_columns]
        status = rel.status if rel.status != "compared" else mark
        if rel.status != "compared":
            status = f"{mark}, {rel.status}"
        lines.append(
            f"| `{rel.name}` | {status} | {_fmt(rel.rows_base)} → {_fmt(rel.rows_current)} | "
            f"{_fmt(rel.rows_added)} | {_fmt(rel.rows_removed)} | {_fmt(rel.rows_changed)} | "
            f"{'; '.join(cols) or '-'} |"
        )

    for rel in report.relations:
        if rel.status != "compared":
            if rel.message:
                lines += ["", f"### `{rel.name}`: {rel.status}", "", rel.message]
            continue
        if not rel.data_changed:
            continue
        lines += ["", f"### `{rel.name}`", "", f"Compared by {rel.compared_by}."]
        if rel.changed_columns:
            lines += ["", "| column | rows changed | example keys |", "|---|---:|---|"]
            for change in rel.changed_columns:
                examples = "; ".join(f"`{e}`" for e in change.examples)
                lines.append(f"| `{change.column}` | {change.rows:,} | {examples} |")
        if rel.added_examples:
            lines += ["", "Added, e.g. " + "; ".join(f"`{e}`" for e in rel.added_examples)]
        if rel.removed_examples:
            lines += ["", "Removed, e.g. " + "; ".join(f"`{e}`" for e in rel.removed_examples)]
        moved = [m for m in rel.measures if m.delta or m.largest]
        if moved:
            lines += ["", "| measure | total before | total after | difference | largest |"]
            lines.append("|---|---:|---:|---:|---|")
            for measure in moved:
                largest = "; ".join(
                    f"`{key}` {_fmt(before)} → {_fmt(after)}"
                    for key, before, after in measure.largest
                )
                lines.append(
                    f"| `{measure.column}` | {_fmt(measure.base_total)} | "
                    f"{_fmt(measure.current_total)} | {_signed(measure.delta)} | {largest} |"
                )

    names = {r.unique_id: r.name for r in report.relations}
    lines += ["", "### Lineage", "", "```mermaid", "graph LR"]
    for uid in report.modified:
        lines.append(f"    {names.get(uid, uid.split('.')[-1])}:::modified")
    for parent, child in report.edges:
        lines.append(f"    {parent.split('.')[-1]} --> {child.split('.')[-1]}")
    lines += ["    classDef modified fill:#fde68a", "```"]
    return "\n".join(lines) + "\n"


# --- command line -------------------------------------------------------------------------
