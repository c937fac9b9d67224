"""`olist daily`: the daily job. Load the day's drop, then build what it changed.

    olist daily --drops data/drops --pending              # every new drop, day by day
    olist daily --drops data/drops --date 2018-08-25
    olist daily --drops data/drops --from 2018-08-01 --to 2018-08-31   # a backfill

For each drop date, oldest first: append the drop to the raw tables (olist_elt.daily.drop_load),
then one in-process `dbt build` of the tables downstream of the raw tables that received
rows: the incremental staging and intermediate tables (the facts' order-grained steps, the
address periods), the customers snapshot, dim_customers_history, the incremental facts and
every table built on them. dbt orders the nodes (snapshot and dimensions before the facts
that join them). Views and seeds change only when the project does: a daily run creates
the ones missing from the warehouse, and `--deploy` (or a full `dbt build`) recreates them
all.

The daily build runs the data tests that guard what a day's rows can break, on the tables
it rebuilt: the kinds of selectors.yml's `daily_test_kinds` (keys, relationships, row counts
against staging) on the tables it updates in place, and the tests tagged `daily` (the SCD2
invariants of the address history, whose rows a day replaces for every person it touches).
The other tests (not-null checks, column values, ranges, reconciliations) check logic more
than new data: they run with every full `dbt build` (olist run, CI, a deploy) and with
`--all-tests`. The selection is dbt's: docs/daily-selection.md.

Day by day on purpose: the snapshot sees one state per run, so a backfill run as one build
would record only the last of several moves of a customer (dim_customers_history and the
facts do not depend on it: they are the same either way). `--single-build` trades that for
speed. The project is parsed once per process and the manifest reused for every day.

Exit status: 0 when every load and build succeeded, 1 otherwise, 2 for a wrong option.
"""

from __future__ import annotations

import functools
import gc
import json
import logging
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from olist_elt.daily.drop_load import load_drops, select_drops
from olist_elt.daily.drops import Drop, list_drops
from olist_elt.errors import ConfigError
from olist_elt.load import audit
from olist_elt.load.loader import LoadReport
from olist_elt.load.sources import TableFiles
from olist_elt.load.targets import make_target
from olist_elt.pipeline import BuildSummary, file_log_args, node_results
from olist_elt.profiles import read_target
from olist_elt.settings import Settings
from olist_elt.spec import OLIST_FILES

log = logging.getLogger("olist_elt.daily.run")

__all__ = ["DailyRun", "DailyStep", "DbtSession", "daily_selection", "run_daily"]

SOURCE_NAME = "olist"  # the dbt source of the raw tables (models/staging/olist/_olist__sources.yml)
DAILY_TAG = "daily"  # a test with this tag (or of a model with it) runs in every daily build
VIEWS_BIND_TO_TABLES = ("postgres",)  # adapters whose views are dropped with their tables


def daily_selection(
    session: DbtSession,
    tables: Sequence[str],
    missing: Callable[[Sequence[tuple[str, str]]], set[tuple[str, str]]],
    *,
    deploy: bool = False,
    tests: str = "daily",
    full_refresh: bool = False,
) -> list[str]:
    """The node names of the daily build after these raw tables received rows.

    Built: the models and snapshots downstream of the tables, except what changes only with
    the project (views, seeds, tables no source feeds, such as the calendar); whatever
    `missing` reports absent from the warehouse ((schema, name) pairs, lower case); with
    ``deploy``, everything that changes only with the project, and with ``deploy`` and
    ``full_refresh`` every table as well (docs/production.md); on PostgreSQL, the views
    that read a table the build replaces (see VIEWS_BIND_TO_TABLES). Tested: the data tests of
    what is built, those of the kinds in selectors.yml's `daily_test_kinds` on incremental
    tables and those tagged `daily` (``tests="daily"``), all of them (``"all"``) or none
    (``"none"``). dbt selects (the selectors of selectors.yml and `source:olist.<table>+`);
    the rest is said where it is done.
    """
    nodes = session.manifest.nodes
    day = session.select(select=[f"source:{SOURCE_NAME}.{table}+" for table in sorted(tables)])
    daily_tables = session.select(selector="daily_tables")
    project_objects = session.select(selector="project_objects")
    buildable = daily_tables | project_objects  # the two selectors split what dbt builds
    # Which relations exist is a question for the warehouse, not for the project's graph.
    relation_of = {u: (nodes[u].schema.lower(), nodes[u].alias.lower()) for u in buildable}
    absent = missing(sorted(set(relation_of.values())))
    built = (day & daily_tables) | {u for u in buildable if relation_of[u] in absent}
    if deploy:
        built |= project_objects
        if full_refresh:
            # The deploy of a change to an incremental model's columns: production refuses
            # the changed table (on_schema_change: fail) until it is rebuilt, whichever raw
            # tables the day touched, so every table is rebuilt whole.
            built |= daily_tables
    if session.manifest.metadata.adapter_type in VIEWS_BIND_TO_TABLES:
        built |= _views_dropped_with(nodes, built, buildable, full_refresh)
    selected = set(built)
    if tests != "none":
        kinds = session.select(selector="daily_test_kinds") if tests == "daily" else set()
        in_place = session.select(selector="updated_in_place") if tests == "daily" else set()
        for unique_id, node in nodes.items():
            if str(node.resource_type) != "test":
                continue
            # A generic test belongs to the node it is declared on, a singular test to every
            # node it reads. dbt's indirect selection cannot say the first: it brings a test
            # in with any node it reads (eager) or with all of them (cautious), and a
            # relationships test of fct_orders must not come in with a rebuilt dim_dates.
            attached = getattr(node, "attached_node", None)
            owners = {attached} if attached else set(node.depends_on.nodes) & set(nodes)
            if not owners & built:
                continue
            tagged = DAILY_TAG in node.tags or any(DAILY_TAG in nodes[o].tags for o in owners)
            if (
                tests == "all"
                or tagged
                or (unique_id in kinds and owners & in_place and owners <= built)
            ):
                selected.add(unique_id)
    return sorted(nodes[unique_id].name for unique_id in selected)


def _views_dropped_with(
    nodes: Any, built: set[str], buildable: set[str], full_refresh: bool
) -> set[str]:
    """The views that lose their relation when dbt replaces the tables of ``built``.

    dbt replaces a table by renaming a new one in and dropping the old one with `cascade`:
    on PostgreSQL that drops the views reading it, and the views reading those. dbt's graph
    operators follow every path, so `table+,config.materialized:view` would also take the
    views behind an incremental table or a table the build leaves alone: the walk stops at
    the first node that is not a view.
    """

    def materialization(unique_id: str) -> str:
        return str(nodes[unique_id].config.materialized)

    children: dict[str, set[str]] = {}
    for unique_id, node in nodes.items():
        for parent in getattr(node.depends_on, "nodes", ()):  # seeds depend on macros only
            children.setdefault(parent, set()).add(unique_id)
    replaced = ("table", "incremental") if full_refresh else ("table",)
    stack = [u for u in built if materialization(u) in replaced]
    views: set[str] = set()
    while stack:
        for child in children.get(stack.pop(), ()):
            if (
                child in buildable
                and materialization(child) == "view"
                and child not in built | views
            ):
                views.add(child)
                stack.append(child)
    return views


@dataclass
class DbtStats:
    """What one dbt invocation did: the summary, and execution seconds per resource type."""

    summary: BuildSummary
    seconds_by_type: dict[str, float] = field(default_factory=dict)
    nodes_by_type: dict[str, int] = field(default_factory=dict)
    node_seconds: dict[str, float] = field(default_factory=dict)  # unique_id -> execution

    def slowest(self, count: int = 10) -> list[tuple[str, float]]:
        return sorted(self.node_seconds.items(), key=lambda item: -item[1])[:count]


class DbtSession:
    """dbt in this process: the project parsed once, its manifest reused by every build."""

    def __init__(
        self,
        settings: Settings | None = None,
        target_path: str | None = None,
        log_path: str | None = None,
        dbt_vars: dict[str, Any] | None = None,
        quiet: bool = True,
        write_artifacts: bool = False,
        debug_log: bool = False,
    ) -> None:
        self.settings = settings or Settings.resolve()
        # Project, profile, target and the raw schema as a var: see olist_elt.settings.
        self.dbt_vars = dict(dbt_vars or {})
        self.common = self.settings.dbt_args(self.dbt_vars)
        if quiet:  # olist daily prints its own summary, failures included
            self.common.append("--quiet")
        if not debug_log:  # olist daily -v logs every statement
            self.common += file_log_args()
        if target_path:
            self.common += ["--target-path", target_path]
        if log_path:
            self.common += ["--log-path", log_path]
        # Writing manifest.json and run_results.json costs about 2 s a build at scale 1; the
        # results are read in process. The parse still writes them and partial_parse.msgpack.
        self.build_flags = [] if write_artifacts else ["--no-write-json"]
        self._manifest: Any = None
        self.parse_seconds = 0.0
        self.project_dir = self.settings.project_dir
        self._selections: dict[tuple[str | None, tuple[str, ...]], frozenset[str]] = {}
        self._selector: Any = None  # dbt's NodeSelector, made on the first selection
        self._selectors: Any = None
        self.select_seconds = 0.0

    def _runner(self) -> Any:
        from dbt.cli.main import dbtRunner

        return dbtRunner(manifest=self._manifest)

    def parse(self) -> None:
        """Parse the project (partial parsing makes a repeat cheap) and keep the manifest."""
        clock = time.perf_counter()
        result = self._runner().invoke(["parse", *self.common])
        self.parse_seconds += time.perf_counter() - clock
        if not result.success or result.result is None:
            raise ConfigError(f"dbt parse failed: {result.exception}")
        self._manifest = result.result
        # The manifest is hundreds of thousands of long-lived objects that every full
        # garbage collection would walk again, many times a build (about a tenth of a daily
        # build's CPU at scale 1). Frozen, the collector leaves them alone.
        gc.collect()
        gc.freeze()

    @property
    def manifest(self) -> Any:
        if self._manifest is None:
            self.parse()
        return self._manifest

    def select(self, *, selector: str | None = None, select: Sequence[str] = ()) -> frozenset[str]:
        """The unique ids of a selectors.yml selector, or of --select arguments, by dbt.

        What `dbt ls --indirect-selection empty` lists (a test only when the selection names
        it), through dbt's selector on the session's manifest: `dbt ls` would load the project
        again on every call (docs/daily-selection.md).
        """
        from dbt.graph.cli import parse_union
        from dbt.graph.selector_spec import IndirectSelection, SelectionCriteria

        key = (selector, tuple(select))
        if key in self._selections:
            return self._selections[key]
        clock = time.perf_counter()
        if self._selector is None:
            self._selector, self._selectors = self._node_selector()
        if selector is None:
            spec = parse_union(list(select), True)
        elif selector in self._selectors:
            spec = self._selectors[selector]["definition"]
        else:
            raise ConfigError(f"selectors.yml: no selector named {selector!r}")
        stack = [spec]
        while stack:  # --indirect-selection empty, on every criterion of the selection
            part = stack.pop()
            part.indirect_selection = IndirectSelection.Empty
            if not isinstance(part, SelectionCriteria):
                stack.extend(part.components)
        # The project's hooks (on-run-start) are nodes of the graph that every dbt run
        # executes whatever it selects; dbt ls and dbt build never select them.
        chosen = frozenset(
            unique_id
            for unique_id in self._selector.get_selected(spec, warn_on_no_nodes=False)
            if not unique_id.startswith("operation.")
        )
        self._selections[key] = chosen
        self.select_seconds += time.perf_counter() - clock
        return chosen

    def _node_selector(self) -> tuple[Any, Any]:
        """dbt's node selector over the manifest's graph, and the selectors of selectors.yml.

        dbt would render selectors.yml as a Jinja template first; it has no Jinja, so it is
        read as written.
        """
        import yaml
        from dbt.compilation import Linker
        from dbt.config.selectors import SelectorConfig
        from dbt.graph.graph import Graph
        from dbt.graph.selector import NodeSelector

        linker = Linker()
        linker.link_graph(self.manifest)
        path = self.project_dir / "selectors.yml"
        try:
            selectors = SelectorConfig.selectors_from_dict(yaml.safe_load(path.read_text()))
        except (OSError, yaml.YAMLError) as error:
            raise ConfigError(f"{path}: cannot read the selectors: {error}") from error
        return NodeSelector(Graph(linker.graph), self.manifest), selectors

    def build(
        self,
        select: Sequence[str],
        exclude: Sequence[str] = (),
        full_refresh: bool = False,
        exact: bool = False,
        dbt_vars: dict[str, Any] | None = None,
    ) -> DbtStats:
        """Build the selection with the parsed manifest; ``dbt_vars`` add to the session's
        vars for this build only (they reach execution; the manifest is not parsed again)."""
        if self._manifest is None:
            self.parse()
        common = self.common
        if dbt_vars:  # the session's --vars, rendered by Settings as every dbt call's
            common = [*common]
            merged = self.settings.dbt_vars({**self.dbt_vars, **dbt_vars})
            common[common.index("--vars") + 1] = json.dumps(merged, sort_keys=True)
        args = ["build", *common, *self.build_flags, "--select", *select]
        if exact:  # the selection names every node: no test comes in with its model
            args += ["--indirect-selection", "empty"]
        if exclude:
            args += ["--exclude", *exclude]
        if full_refresh:
            args.append("--full-refresh")
        clock = time.perf_counter()
        result = self._runner().invoke(args)
        stats = DbtStats(BuildSummary.from_result(result, time.perf_counter() - clock))
        for node_result in node_results(result):
            resource_type = str(node_result.node.resource_type)
            stats.seconds_by_type[resource_type] = (
                stats.seconds_by_type.get(resource_type, 0.0) + node_result.execution_time
            )
            stats.nodes_by_type[resource_type] = stats.nodes_by_type.get(resource_type, 0) + 1
            stats.node_seconds[node_result.node.unique_id] = node_result.execution_time
        return stats


# The var of each table's watermark before a daily build, which restricts its tests
# (macros/daily_tests.sql) and the customers snapshot to the rows of the day, and the
# load-time lineage columns a watermark is read from, in order of preference: the first a
# table has is the one its watermark and its day's rows are read by (the var names it).
DAILY_WATERMARKS_VAR = "daily_watermarks"
LINEAGE_COLUMNS = ("_source_loaded_at", "_loaded_at")


@dataclass
class DailyStep:
    """One drop date (or, with --single-build, every date of the run) and its build."""

    days: tuple[date, ...]
    reports: list[LoadReport]
    load_seconds: float
    tables: tuple[str, ...]  # raw tables that received rows
    dbt: DbtStats | None = None  # None when nothing new was loaded

    @property
    def ok(self) -> bool:
        loads_ok = all(report.ok for report in self.reports)
        return loads_ok and (self.dbt is None or self.dbt.summary.ok)


@dataclass
class DailyRun:
    steps: list[DailyStep] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return all(step.ok for step in self.steps)


def run_daily(
    drops_root: str,
    dates: Sequence[date] | None = None,
    *,
    date_from: date | None = None,
    date_to: date | None = None,
    pending: bool = False,
    settings: Settings | None = None,
    force: bool = False,
    full_refresh: bool = False,
    single_build: bool = False,
    tests: str = "daily",
    deploy: bool = False,
    keep_going: bool = False,
    session: DbtSession | None = None,
    on_step: Callable[[DailyStep], None] | None = None,
) -> DailyRun:
    """Load the chosen drops and build after each (or once, with ``single_build``).

    A date whose files were all loaded before (``pending``, or unchanged files) gets no
    build; when the whole run loaded nothing, one build downstream of every raw table
    catches up (a retry after a failed build). Stops after the first failed date unless
    ``keep_going``. ``tests`` and ``deploy``: see daily_selection. ``settings`` (default: from
    the environment) say where to load and build; a ``session`` must have the same. Raises
    ConfigError or LoadError when nothing can be tried.
    """
    clock = time.perf_counter()
    if settings is None:
        settings = session.settings if session is not None else Settings.resolve()
    session = session or DbtSession(settings)
    if session.settings != settings:
        # dbt would build from another raw schema (or warehouse) than the one loaded.
        raise ValueError(f"the dbt session's {session.settings} differ from {settings}")
    target, profiles_dir, schema = settings.target, settings.profiles_dir, settings.raw_schema

    def build(tables: Sequence[str]) -> DbtStats:
        # One connection for the two questions to the warehouse before the build, closed
        # before dbt opens its own.
        with _connected(target, profiles_dir, schema) as warehouse:
            select = daily_selection(
                session,
                tables,
                functools.partial(_missing_relations, warehouse),
                deploy=deploy,
                tests=tests,
                full_refresh=full_refresh,
            )
            # Each table's watermark before the build: the day's tests and the snapshot read
            # the rows since (macros/daily_tests.sql). A deploy or full refresh reads all.
            watermarks = {}
            if not (deploy or full_refresh):
                watermarks = _watermarks(session, select, lambda sql: warehouse.execute(sql) or [])
        return session.build(
            select,
            full_refresh=full_refresh,
            exact=True,
            dbt_vars={DAILY_WATERMARKS_VAR: watermarks} if watermarks else None,
        )

    drops = select_drops(list_drops(drops_root, settings.endpoint_url), dates, date_from, date_to)
    if pending:
        drops = _pending_drops(drops, target, profiles_dir, schema)
    days = [drop.ingest_date for drop in drops]
    batches = [days] if single_build else [[day] for day in days]
    run = DailyRun()
    options: dict[str, Any] = {"pending": pending, "force": force, **settings.load_options()}
    for batch in batches:
        step = _load_step(drops_root, batch, options)
        if step.tables:
            step.dbt = build(step.tables)
        run.steps.append(step)
        if on_step is not None:
            on_step(step)
        if not step.ok and not keep_going:
            break
    if run.ok and not any(step.tables for step in run.steps):
        step = DailyStep(days=(), reports=[], load_seconds=0.0, tables=())
        everything = [spec.table for spec in OLIST_FILES]
        step.dbt = build(everything)
        run.steps.append(step)
        if on_step is not None:
            on_step(step)
    run.seconds = time.perf_counter() - clock
    return run


def _watermarks(
    session: DbtSession,
    selected: Sequence[str],
    query: Callable[[str], list[tuple[Any, ...]]],
) -> dict[str, dict[str, str]]:
    """The load-time watermark of each incremental table and snapshot a daily build updates.

    By node name: the table's lineage column (`column`, the first of LINEAGE_COLUMNS it has)
    and the newest load time in it before the build (`loaded_at`). What
    macros/daily_tests.sql restricts the day's tests by (var daily_watermarks): every row the
    build writes to a table derives from rows loaded after the table's watermark, or from rows
    of the lookback window, built and tested before; and what the customers snapshot reads
    (snapshots/customers_snapshot.sql). A table that is absent or empty, or lacks its lineage
    column in the warehouse (a deploy still to run), is left out: it is read whole.
    """
    names = set(selected)  # daily_selection's node names
    tables = {}
    for node in session.manifest.nodes.values():
        if node.name not in names or node.config.materialized not in {"incremental", "snapshot"}:
            continue
        column = next((c for c in LINEAGE_COLUMNS if c in node.columns), None)
        if column is not None:
            tables[node.name] = (node.schema.lower(), node.alias.lower(), column)
    if not tables:
        return {}
    schemas = ", ".join(f"'{schema}'" for schema in sorted({t[0] for t in tables.values()}))
    lineage = ", ".join(f"'{column}'" for column in LINEAGE_COLUMNS)
    present = {
        (str(schema), str(name), str(column))
        for schema, name, column in query(
            "select lower(table_schema), lower(table_name), lower(column_name)\n"
            f"from information_schema.columns\nwhere lower(table_schema) in ({schemas})\n"
            f"and lower(column_name) in ({lineage})"
        )
    }
    readable = {name: table for name, table in tables.items() if table in present}
    if not readable:
        return {}
    watermarks = "\n    union all\n    ".join(
        f"select '{name}' as model_name, max({column}) as watermark from {schema}.{alias}"
        for name, (schema, alias, column) in sorted(readable.items())
    )
    rows = query(f"select model_name, watermark\nfrom (\n    {watermarks}\n) as watermarks")
    return {
        str(name): {"column": readable[str(name)][2], "loaded_at": str(watermark)}
        for name, watermark in rows
        if watermark is not None
    }


@contextmanager
def _connected(target: str | None, profiles_dir: str | None, schema: str) -> Iterator[Any]:
    """The warehouse of the profile's target, connected for the block, closed after it."""
    warehouse = make_target(read_target(profiles_dir, target), schema)
    try:
        warehouse.connect()
        yield warehouse
    finally:
        warehouse.close()


def _missing_relations(
    warehouse: Any, relations: Sequence[tuple[str, str]]
) -> set[tuple[str, str]]:
    """The (schema, name) pairs of ``relations`` that the connected warehouse does not hold."""
    return set(relations) - warehouse.existing_relations({name for name, _ in relations})


def _pending_drops(
    drops: list[Drop], target: str | None, profiles_dir: str | None, schema: str
) -> list[Drop]:
    """The drops with a file the audit does not hold as loaded (one query for all).

    A cheap first cut, so that a root of hundreds of loaded drops does not cost a load
    call per day; load_drops(pending=True) then decides file by file.
    """
    with _connected(target, profiles_dir, schema) as warehouse:
        warehouse.prepare()
        loaded = {(run.table_name, run.ingest_date): run for run in warehouse.drop_loads()}

    def is_new(drop: Drop, files: TableFiles) -> bool:
        run = loaded.get((files.spec.table, drop.ingest_date))
        return run is None or run.source_bytes != files.size

    return [
        drop
        for drop in drops
        if any(
            is_new(drop, files)
            for files in drop.source.resolve(OLIST_FILES).values()
            if isinstance(files, TableFiles)
        )
    ]


def _load_step(drops_root: str, days: list[date], options: dict[str, Any]) -> DailyStep:
    clock = time.perf_counter()
    reports = load_drops(drops_root, days, **options) if days else []
    tables = {
        result.table
        for report in reports
        for result in report.tables
        if result.status == audit.LOADED and result.rows_loaded > 0
    }
    return DailyStep(
        days=tuple(days),
        reports=reports,
        load_seconds=time.perf_counter() - clock,
        tables=tuple(sorted(tables)),
    )


def format_step(step: DailyStep) -> str:
    days = ", ".join(map(str, step.days)) if step.days else "no new drop: catch-up build"
    rows = sum(t.rows_loaded for r in step.reports for t in r.tables if t.status == audit.LOADED)
    lines = [f"{days}: loaded {rows:,} rows into {len(step.tables)} tables "
             f"in {step.load_seconds:.1f} s"]  # fmt: skip
    for report in step.reports:
        lines += [f"  {report.ingest_date} {t.table}: {t.error}" for t in report.tables if t.error]
    if step.dbt is None:
        lines.append("  nothing new: no build")
    else:
        summary = step.dbt.summary
        tests = summary.count("test")
        passed = summary.count("test", "pass")
        lines.append(
            f"  dbt build in {summary.seconds:.1f} s: {summary.count('snapshot')} snapshot, "
            f"{summary.count('model')} models, {tests} tests ({passed} passed)"
            + ("" if summary.ok else " FAILED")
        )
        lines += [f"    {failure}" for failure in summary.failures]
    return "\n".join(lines)
