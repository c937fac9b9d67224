"""Daily runs give what a full refresh gives, row for row, and the true address history.

Generated data (scale 0.01) is replayed into daily drops (olist replay) and fed to a
temporary DuckDB file with olist daily (run_daily), as a warehouse would receive it:

1. every drop before the window in one step, the first build (the tables are created);
2. WINDOW consecutive drops, one daily run each (load, then the incremental build and the
   snapshot), except that
   - the drop of day LATE is held back and loaded after the run of day LATE + 4, beyond
     the 3-day lookback: only its load time can make the facts pick it up, and until it
     comes, later versions of its orders arrive without their customer records;
   - day REPEAT is run again with force: the drop reloaded, same rows, new load time;
3. the remaining drops in one step (pending), so that the end state holds every file row.

Then every incremental model of the project (read from dbt's manifest: a model made
incremental is compared without being listed here) must equal a `--full-refresh` build of
the same raw tables into another schema of the same file: the same number of rows and no
row of one missing from the other (EXCEPT both ways, every column exact, money included).
dim_customers_history must also match the address sequence computed here in Python from
the source files, and the snapshot must hold every customer's current address with
business-time validity.
"""

from __future__ import annotations

import csv
import logging
import time
from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any

import duckdb
import psycopg2
import pytest

from olist_elt.cli import main
from olist_elt.daily.replay import replay
from olist_elt.daily.run import DailyRun, DbtSession, run_daily
from olist_elt.generate.dataset import generate
from olist_elt.settings import Settings
from olist_elt.spec import by_table

log = logging.getLogger(__name__)

pytestmark = pytest.mark.slow

SCALE = 0.01
SEED = 42
# The window is the WINDOW drops ending here: the Black Friday weeks of 2017, in which a
# customer of the seed-42 data orders from a new address (the snapshot must record the move).
WINDOW_END = date(2017, 12, 10)
WINDOW = 30
LATE = 6  # position in the window of the drop loaded late
LATE_BY = 4  # loaded after the run of day LATE + LATE_BY (lookback is 3 days)
REPEAT = 15  # position in the window of the day run twice
# Models that must be incremental whatever else is: the list below is read from the
# manifest, and this checks that reading it finds them.
KNOWN_INCREMENTAL = frozenset(
    {"stg_olist__orders", "fct_orders", "fct_order_items", "dim_customers_history"}
)


@dataclass(frozen=True)
class Compared:
    """An incremental model: its relation in the daily-run schemas and in the full refresh."""

    model: str
    incremental: str  # schema.table
    full_refresh: str


def incremental_models(incremental: DbtSession, full_refresh: DbtSession) -> list[Compared]:
    """Every model of the project materialized `incremental`, from dbt's manifest, with its
    relation on each target (schema names as the project's schema config makes them)."""
    nodes = incremental.manifest.nodes
    full_nodes = full_refresh.manifest.nodes
    compared = [
        Compared(
            node.name,
            f"{node.schema}.{node.alias}",
            f"{full_nodes[unique_id].schema}.{full_nodes[unique_id].alias}",
        )
        for unique_id, node in sorted(nodes.items())
        if str(node.resource_type) == "model" and node.config.materialized == "incremental"
    ]
    names = {c.model for c in compared}
    assert names >= KNOWN_INCREMENTAL, f"incremental models read from the manifest: {names}"
    return compared


PROFILE = """\
olist_elt:
  target: incremental
  outputs:
    incremental:
      type: duckdb
      path: "{path}"
      schema: analytics
      threads: 2
    full_refresh:
      type: duckdb
      path: "{path}"
      schema: full_refresh
      threads: 2
"""


@dataclass
class Replay:
    source: Path  # the generated nine files
    root: Path  # their drops
    days: list[date]


@dataclass
class DailyWarehouse:
    replayed: Replay
    database: Path
    profiles: Path
    work: Path
    runs: list[tuple[str, DailyRun]] = field(default_factory=list)
    seconds: float = 0.0
    compared: list[Compared] = field(default_factory=list)

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        # dbt-duckdb keeps its connection to the file open in this process: share its
        # configuration (read-write), or DuckDB refuses a second connection
        connection = duckdb.connect(str(self.database))
        try:
            return connection.execute(sql).fetchall()
        finally:
            connection.close()

    def session(self, target: str) -> DbtSession:
        return DbtSession(
            Settings.resolve({"profiles_dir": str(self.profiles), "target": target}),
            target_path=str(self.work / f"target-{target}"),
            log_path=str(self.work / "logs"),
        )


@pytest.fixture(scope="module")
def replayed(tmp_path_factory: pytest.TempPathFactory) -> Replay:
    source = tmp_path_factory.mktemp("generated")
    generate(source, scale=SCALE, seed=SEED)
    root = tmp_path_factory.mktemp("drops")
    result = replay(source, root)
    return Replay(source, root, list(result.days))


def window_of(days: list[date]) -> list[date]:
    end = max(i for i, day in enumerate(days) if day <= WINDOW_END)
    window = days[end - WINDOW + 1 : end + 1]
    assert len(window) == WINDOW, f"only {len(window)} drops up to {WINDOW_END}"
    return window


@pytest.fixture(scope="module")
def daily(replayed: Replay, tmp_path_factory: pytest.TempPathFactory) -> DailyWarehouse:
    work = tmp_path_factory.mktemp("daily_warehouse")
    profiles = work / "profiles"
    profiles.mkdir()
    database = work / "olist.duckdb"
    (profiles / "profiles.yml").write_text(PROFILE.format(path=database))
    warehouse = DailyWarehouse(replayed, database, profiles, work)
    session = warehouse.session("incremental")
    window = window_of(replayed.days)
    late_day = window[LATE]

    def step(label: str, **options: Any) -> DailyRun:
        clock = time.perf_counter()
        run = run_daily(
            str(replayed.root),
            session=session,
            keep_going=True,
            **{"tests": "none", **options},
        )
        log.info("%s: %.1f s", label, time.perf_counter() - clock)
        failures = [
            f
            for s in run.steps
            for f in ([t.error for r in s.reports for t in r.tables if t.error])
            + (s.dbt.summary.failures if s.dbt else [])
        ]
        assert run.ok, f"{label}: daily run failed: {failures}"
        warehouse.runs.append((label, run))
        return run

    clock = time.perf_counter()
    step("history", date_to=window[0] - timedelta(days=1), single_build=True)
    for position, day in enumerate(window):
        if day != late_day:
            step(f"day {day}", dates=[day])
        if position == LATE + LATE_BY:
            step(f"late day {late_day}", dates=[late_day])
        if position == REPEAT:
            step(f"day {day} again, reloaded", dates=[day], force=True)
    # The rest at once, with the data tests of everything it builds.
    step("remaining drops", pending=True, single_build=True, tests="all")
    warehouse.seconds = time.perf_counter() - clock

    full_session = warehouse.session("full_refresh")
    warehouse.compared = incremental_models(session, full_session)
    full = full_session.build(
        ["+" + compared.model for compared in warehouse.compared],
        ["resource_type:test", "resource_type:unit_test"],
        full_refresh=True,
    )
    assert full.summary.ok, f"full refresh failed: {full.summary.failures}"
    return warehouse


def test_replay_covers_the_cases(daily: DailyWarehouse) -> None:
    """The scenario really happened: 30+ daily runs, a late drop, a repeated day."""
    labels = [label for label, _ in daily.runs]
    day_runs = [label for label in labels if label.startswith("day ")]
    assert len(day_runs) >= WINDOW, labels
    assert any(label.startswith("late day") for label in labels), labels
    assert any(label.endswith("again, reloaded") for label in labels), labels
    with_orders = {
        day
        for day in daily.replayed.days
        if (daily.replayed.root / f"ingest_date={day}" / by_table("orders").file_name).exists()
    }
    loaded = {row[0] for row in daily.query("select distinct _ingest_date from raw_olist.orders")}
    assert loaded == with_orders, f"drops with orders not loaded: {sorted(with_orders - loaded)}"
    # the repeated day was reloaded: its rows carry the second load's time only
    repeat_day = window_of(daily.replayed.days)[REPEAT]
    loads = daily.query(
        f"select count(distinct _load_id) from raw_olist.orders where _ingest_date = '{repeat_day}'"
    )[0][0]
    assert loads == 1, f"{repeat_day}: expected the reload to replace the day's rows, got {loads}"
    log.info("%d daily runs in %.0f s", len(daily.runs), daily.seconds)


def test_incremental_equals_full_refresh(daily: DailyWarehouse) -> None:
    """Every incremental model, row for row, whichever they are (see incremental_models)."""
    differences = []
    for compared in daily.compared:
        incremental, full = compared.incremental, compared.full_refresh
        columns = [row[0] for row in daily.query(f"describe {incremental}")]
        if columns != [row[0] for row in daily.query(f"describe {full}")]:
            differences.append(f"{compared.model}: columns differ")
            continue
        (count_incremental,) = daily.query(f"select count(*) from {incremental}")[0]
        (count_full,) = daily.query(f"select count(*) from {full}")[0]
        only_incremental = daily.query(
            f"select * from {incremental} except all select * from {full} limit 5"
        )
        only_full = daily.query(
            f"select * from {full} except all select * from {incremental} limit 5"
        )
        if (count_incremental, only_incremental, only_full) != (count_full, [], []):
            differences.append(
                f"{compared.model}: incremental {count_incremental} rows, full refresh "
                f"{count_full}; columns {columns}\nonly in the incremental table: "
                f"{only_incremental}\nonly in the full refresh: {only_full}"
            )
        elif count_full == 0:
            differences.append(f"{compared.model}: empty, nothing compared")
        log.info("%s: %d rows equal", compared.model, count_full)
    assert not differences, "\n".join(differences)
    # the facts hold every order (item) of the files: nothing lost on the way
    for model, table in (("fct_orders", "orders"), ("fct_order_items", "order_items")):
        spec = by_table(table)
        with (daily.replayed.source / spec.file_name).open(encoding="utf-8-sig") as handle:
            expected = sum(1 for _ in csv.DictReader(handle))
        relation = next(c.full_refresh for c in daily.compared if c.model == model)
        assert daily.query(f"select count(*) from {relation}")[0][0] == expected, model


def test_incremental_tables_keep_their_comments(daily: DailyWarehouse) -> None:
    """Comments written when a table is created survive the daily runs that skip writing them.

    macros/persist_docs.sql leaves an incremental run's table alone: after 30+ of them the
    comments must still be those of a table built from scratch (the full refresh schemas).
    """

    def comments(relation: str) -> tuple[Any, dict[str, Any]]:
        schema, model = relation.split(".")
        table = daily.query(
            f"select comment from duckdb_tables() "
            f"where schema_name = '{schema}' and table_name = '{model}'"
        )
        columns = daily.query(
            f"select column_name, comment from duckdb_columns() "
            f"where schema_name = '{schema}' and table_name = '{model}'"
        )
        return (table[0][0] if table else None), dict(columns)

    for compared in daily.compared:
        table, columns = comments(compared.incremental)
        assert table, f"{compared.model}: no table comment after the daily runs"
        assert sum(1 for text in columns.values() if text) >= len(columns) // 2, columns
        assert (table, columns) == comments(compared.full_refresh), compared.model


def test_command_line_rerun_changes_nothing(
    daily: DailyWarehouse, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`olist daily --pending` with every drop loaded: a catch-up build, the same tables."""
    monkeypatch.setenv("DBT_TARGET_PATH", str(daily.work / "target-incremental"))
    monkeypatch.setenv("DBT_LOG_PATH", str(daily.work / "logs"))
    before = daily.query("select * from analytics_marts.fct_orders order by order_id")
    code = main(
        [
            "daily",
            "--drops",
            str(daily.replayed.root),
            "--pending",
            "--target",
            "incremental",
            "--profiles-dir",
            str(daily.profiles),
            "--skip-tests",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0, out
    assert "no new drop: catch-up build" in out, out
    assert daily.query("select * from analytics_marts.fct_orders order by order_id") == before


# --- the address history, computed here from the files --------------------------------


@dataclass(frozen=True)
class Period:
    zip_code_prefix: str | None
    city: str | None
    state: str | None
    valid_from: datetime | None
    valid_to: datetime | None
    revealed_by_order_id: str | None


def _clean(value: str) -> str | None:
    value = value.strip()
    return value or None


def address_of(customer: dict[str, str]) -> tuple[str | None, ...]:
    """(zip code prefix, city, state) as staging cleans them: trimmed, empty is null."""
    columns = ("customer_zip_code_prefix", "customer_city", "customer_state")
    return tuple(_clean(customer[column]) for column in columns)


def expected_history(source: Path) -> dict[str, list[Period]]:
    """Each person's address periods: orders in purchase order, same address collapsed;
    a person without orders gets the address of their greatest customer_id, undated."""

    def rows(table: str) -> list[dict[str, str]]:
        with (source / by_table(table).file_name).open(encoding="utf-8-sig", newline="") as h:
            return list(csv.DictReader(h))

    customers = {row["customer_id"]: row for row in rows("customers")}
    # person -> moment -> the event standing for it (greatest customer_id, then order_id)
    moments: dict[str, dict[datetime, tuple[str, str, dict[str, str]]]] = defaultdict(dict)
    for order in rows("orders"):
        customer = customers.get(order["customer_id"])
        purchased = _clean(order["order_purchase_timestamp"])
        if customer is None or purchased is None:
            continue
        at = datetime.fromisoformat(purchased)
        person = customer["customer_unique_id"].strip()
        event = (customer["customer_id"].strip(), order["order_id"].strip(), customer)
        if at not in moments[person] or event[:2] > moments[person][at][:2]:
            moments[person][at] = event
    history: dict[str, list[Period]] = {}
    for person, events in moments.items():
        periods: list[Period] = []
        for at, (_, order_id, customer) in sorted(events.items()):
            address = address_of(customer)
            if periods and address_of_period(periods[-1]) == address:
                continue
            if periods:
                periods[-1] = replace(periods[-1], valid_to=at)
            periods.append(Period(*address, valid_from=at, valid_to=None,
                                  revealed_by_order_id=order_id))  # fmt: skip
        history[person] = periods
    for customer in sorted(customers.values(), key=lambda c: c["customer_id"]):
        person = customer["customer_unique_id"].strip()
        if person not in moments:  # the greatest customer_id comes last and stays
            history[person] = [Period(*address_of(customer), None, None, None)]
    return history


def address_of_period(period: Period) -> tuple[str | None, ...]:
    return (period.zip_code_prefix, period.city, period.state)


def test_history_matches_the_address_sequence_of_the_files(daily: DailyWarehouse) -> None:
    expected = expected_history(daily.replayed.source)
    actual: dict[str, list[Period]] = defaultdict(list)
    for row in daily.query(
        "select customer_unique_id, zip_code_prefix, city, state, valid_from, valid_to, "
        "revealed_by_order_id, is_current from analytics_marts.dim_customers_history "
        "order by customer_unique_id, valid_from nulls first"
    ):
        assert row[7] == (row[5] is None), f"{row[0]}: is_current disagrees with valid_to"
        actual[row[0]].append(Period(*row[1:7]))
    movers = [person for person, periods in expected.items() if len(periods) > 1]
    assert movers, "the generated data should hold customers who moved"
    missing = sorted(set(expected) - set(actual))[:5]
    extra = sorted(set(actual) - set(expected))[:5]
    assert not missing and not extra, f"persons missing {missing}, unexpected {extra}"
    wrong = [
        (person, expected[person], actual[person])
        for person in sorted(expected)
        if expected[person] != actual[person]
    ]
    assert not wrong, f"{len(wrong)} persons with another history, e.g. {wrong[:3]}"
    log.info("%d persons, %d with several addresses", len(expected), len(movers))


def test_snapshot_holds_current_addresses_in_business_time(daily: DailyWarehouse) -> None:
    snapshot = daily.query(
        "select customer_unique_id, zip_code_prefix, city, state, address_revealed_at, "
        "dbt_valid_from, dbt_valid_to from analytics_snapshots.customers_snapshot "
        "order by customer_unique_id, dbt_valid_from"
    )
    assert snapshot, "the snapshot is empty"
    # validity is the business time of the move, not the time the snapshot ran
    not_business = [row for row in snapshot if row[5] != row[4]]
    assert not not_business, f"dbt_valid_from is not address_revealed_at: {not_business[:3]}"
    by_person: dict[str, list[tuple[Any, ...]]] = defaultdict(list)
    for row in snapshot:
        by_person[row[0]].append(row)
    for person, rows in by_person.items():
        assert [r[6] for r in rows[:-1]] == [r[5] for r in rows[1:]], f"{person}: {rows}"
        assert rows[-1][6] is None, f"{person}: no current snapshot row: {rows}"
    current = {
        row[0]: row[1:5]
        for row in daily.query(
            "select customer_unique_id, zip_code_prefix, city, state, valid_from "
            "from analytics_marts.dim_customers_history "
            "where is_current and valid_from is not null"
        )
    }
    snapshot_current = {person: rows[-1][1:4] for person, rows in by_person.items()}
    assert set(snapshot_current) == set(current)
    differ = [p for p in current if snapshot_current[p] != current[p][:3]]
    assert not differ, f"current snapshot address differs for {differ[:5]}"
    versions = sum(len(rows) for rows in by_person.values()) - len(by_person)
    log.info("snapshot: %d persons, %d superseded versions", len(by_person), versions)
    # A move revealed on a day run on its own, after the old address was seen by an earlier
    # run, must be in the snapshot as a new version starting at the move's purchase time.
    window = window_of(daily.replayed.days)
    one_by_one = set(window[1:]) - {window[LATE]}
    moves = [
        (person, period)
        for person, periods in expected_history(daily.replayed.source).items()
        for previous, period in pairwise(periods)
        if period.valid_from is not None
        and period.valid_from.date() in one_by_one
        and previous.valid_from is not None
        and previous.valid_from.date() < period.valid_from.date()
    ]
    assert moves, f"no move revealed by a daily run of {window[0]}..{window[-1]}: pick another"
    for person, period in moves:
        starts = [row[5] for row in by_person[person]]
        assert period.valid_from in starts, f"{person}: move at {period.valid_from} not in {starts}"


# --- the same invariant on PostgreSQL ----------------------------------------------------

PG_PROFILE = """\
olist_elt:
  target: incremental
  outputs:
    incremental: &pg
      type: postgres
      host: {host}
      port: {port}
      user: {user}
      password: "{password}"
      dbname: {database}
      schema: analytics
      threads: 2
    full_refresh:
      <<: *pg
      schema: full_refresh
"""


def test_incremental_equals_full_refresh_on_postgres(
    replayed: Replay, pg_server: Any, pg_database: str, tmp_path: Path
) -> None:
    """dbt-postgres: delete+insert with enforced contracts, a late drop, a reloaded day.

    A shorter sequence than on DuckDB: the first drop and ten days as history, then five
    daily runs in which the second day comes after the fourth, and the fourth is reloaded.
    The lookback is 0 days, so the late day is picked up by its load time alone. Data tests
    do not run: with days left out of the history, items reference products of missing drops.
    """

    profiles = tmp_path / "profiles"
    profiles.mkdir()
    (profiles / "profiles.yml").write_text(
        PG_PROFILE.format(
            host=pg_server.host,
            port=pg_server.port,
            user=pg_server.user,
            password=pg_server.password,
            database=pg_database,
        )
    )
    window = window_of(replayed.days)
    # the first drop (reference tables: geolocation, translation...) and ten days
    history, days = [replayed.days[0], *window[:10]], window[10:15]
    lookback = {"incremental_lookback_days": 0}

    def session(target: str) -> DbtSession:
        return DbtSession(
            Settings.resolve({"profiles_dir": str(profiles), "target": target}),
            target_path=str(tmp_path / f"target-{target}"),
            log_path=str(tmp_path / "logs"),
            dbt_vars=lookback,
        )

    incremental = session("incremental")
    common = {"session": incremental}
    order = [
        (history, {"single_build": True}),
        ([days[0]], {}),
        ([days[2]], {}),
        ([days[3]], {}),
        ([days[1]], {}),  # late
        ([days[3]], {"force": True}),  # reloaded
        ([days[4]], {}),
    ]
    for dates, options in order:
        run = run_daily(str(replayed.root), dates, **common, **{"tests": "none", **options})
        failures = [f for s in run.steps if s.dbt for f in s.dbt.summary.failures]
        assert run.ok, f"daily run of {dates} on PostgreSQL failed: {failures}"
    full_session = session("full_refresh")
    models = incremental_models(incremental, full_session)
    full = full_session.build(
        ["+" + compared.model for compared in models],
        ["resource_type:test", "resource_type:unit_test"],
        full_refresh=True,
    )
    assert full.summary.ok, f"full refresh on PostgreSQL failed: {full.summary.failures}"

    differences = []
    connection = psycopg2.connect(pg_server.dsn(pg_database))
    try:
        with connection.cursor() as cursor:
            for compared in models:
                counts = []
                for left, right in (
                    (compared.incremental, compared.full_refresh),
                    (compared.full_refresh, compared.incremental),
                ):
                    cursor.execute(
                        f"select count(*) from (select * from {left} except all "
                        f"select * from {right}) as only_left"
                    )
                    counts.append(cursor.fetchone()[0])
                cursor.execute(f"select count(*) from {compared.incremental}")
                rows = cursor.fetchone()[0]
                if not (rows > 0 and counts == [0, 0]):
                    differences.append(
                        f"{compared.model} on PostgreSQL: {rows} rows; rows only in the "
                        f"incremental table, only in the full refresh: {counts}"
                    )
    finally:
        connection.close()
    assert not differences, "\n".join(differences)
