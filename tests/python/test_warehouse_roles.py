"""Warehouse roles (docs/roles.md): the bootstrap on a real PostgreSQL, then break-in attempts.

One database of the session's throwaway server gets the three roles (with unique names,
set through the OLIST_*_ROLE variables, because roles are shared by every database of a
server) and three login users, one a member of each. Generated data (scale 0.01) is loaded
as the loader and built with `dbt build` as the transformer, both through their outputs of
profiles.yml.example. Then every relation of every schema, read from the catalog, must be
readable and writable by exactly the roles docs/roles.md says, after the first build, after
a daily drop and an incremental build, and after a full refresh; and each login tries what
its role is refused, which must fail with InsufficientPrivilege.

The Redshift statements are checked offline: each matches the Redshift syntax it is meant
to use and parses with sqlglot's Redshift dialect, and infra/redshift/roles.sql is their
current output.
"""

from __future__ import annotations

import csv
import json
import re
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg2
import psycopg2.errors
import pytest

from olist_elt.cli import main as olist
from olist_elt.daily.drop_load import load_drops
from olist_elt.dev import postgres as devserver
from olist_elt.generate.dataset import generate
from olist_elt.load.loader import load
from olist_elt.ops import roles as warehouse_roles
from olist_elt.ops import run_history
from olist_elt.ops.roles import Layout, Roles, bootstrap, redshift_script, redshift_statements
from olist_elt.spec import DEFAULT_RAW_SCHEMA, by_table
from pg_server import admin, query_once
from redshift_compile import PROJECT_ROOT, parse_redshift, patched_env, run_dbt

pytestmark = pytest.mark.slow

PASSWORD = "roles-test-password"  # a throwaway server on loopback, dropped after the test
LAYOUT = Layout()
WRITES = ("insert", "update", "delete", "truncate")
DROP_DAY = "2018-09-01"


@dataclass
class Warehouse:
    server: devserver.PgServer
    database: str
    roles: Roles
    users: dict[str, str]  # job -> login user
    work: Path
    env: dict[str, str]
    first_report: warehouse_roles.Report | None = None
    second_report: warehouse_roles.Report | None = None

    def connect(self, job: str | None = None) -> Any:
        """A connection as the admin, or as the job's login user acting as its role."""
        if job is None:
            return psycopg2.connect(self.server.dsn(self.database))
        connection = psycopg2.connect(
            host=self.server.host, port=self.server.port, dbname=self.database,
            user=self.users[job], password=PASSWORD,
        )  # fmt: skip
        connection.autocommit = True
        with connection.cursor() as cursor:
            cursor.execute(f'set role "{getattr(self.roles, job)}"')
        return connection

    def query(self, sql: str, job: str | None = None) -> list[tuple[Any, ...]]:
        return query_once(self.connect(job), sql)

    def bootstrap(self, check: bool = False) -> warehouse_roles.Report:
        connection = self.connect()
        try:
            members = {job: [user] for job, user in self.users.items()}
            return bootstrap(connection, self.roles, LAYOUT, members=members, check=check)
        finally:
            connection.close()

    def dbt(self, *args: str) -> None:
        with patched_env(self.env):
            run_dbt(
                [*args, "--target", "postgres_transformer"],
                project_dir=PROJECT_ROOT,
                work_dir=self.work,
                target_path=self.work / "target",
            )


def _new_roles(server: devserver.PgServer) -> tuple[Roles, dict[str, str]]:
    tag = uuid.uuid4().hex[:6]
    roles = Roles(f"t{tag}_loader", f"t{tag}_transformer", f"t{tag}_reporter")
    users = {job: f"t{tag}_{job}_login" for job in warehouse_roles.JOBS}
    for user in users.values():
        admin(server, f"create role {user} login password '{PASSWORD}'")
    return roles, users


def _drop_roles(server: devserver.PgServer, roles: Roles, users: dict[str, str]) -> None:
    for name in [*users.values(), *roles.all()]:
        admin(server, f'drop role if exists "{name}"')


@pytest.fixture(scope="module")
def warehouse(
    pg_server: devserver.PgServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Warehouse]:
    work = tmp_path_factory.mktemp("warehouse_roles")
    database = f"roles_{uuid.uuid4().hex[:8]}"
    devserver.create_database(pg_server, database)
    roles, users = _new_roles(pg_server)
    env = {
        "OLIST_PG_HOST": pg_server.host,
        "OLIST_PG_PORT": str(pg_server.port),
        "OLIST_PG_DATABASE": database,
        "OLIST_LOADER_ROLE": roles.loader,
        "OLIST_TRANSFORMER_ROLE": roles.transformer,
        "OLIST_REPORTER_ROLE": roles.reporter,
        **{f"OLIST_PG_{job.upper()}_USER": user for job, user in users.items()},
        **{f"OLIST_PG_{job.upper()}_PASSWORD": PASSWORD for job in users},
    }
    profiles = work / "profiles"
    profiles.mkdir()
    shutil.copyfile(PROJECT_ROOT / "profiles.yml.example", profiles / "profiles.yml")
    built = Warehouse(pg_server, database, roles, users, work, env)
    try:
        # The bootstrap runs before anything exists: it creates the roles and the schemas.
        built.first_report = built.bootstrap()
        built.second_report = built.bootstrap()
        data = work / "data"
        generate(data, scale=0.01, seed=11)
        with patched_env(env):
            report = load(str(data), target="postgres_loader", profiles_dir=str(profiles))
        assert report.ok, [f"{t.table}: {t.error}" for t in report.tables if t.error]
        built.dbt("build")
        # The transformer also keeps the run history (ops.dbt_run_results).
        with patched_env(env):
            rows = run_history.load(
                [work / "target" / "run_results.json"],
                target="postgres_transformer",
                profiles_dir=str(profiles),
            )
        assert rows > 0
        yield built
    finally:
        admin(pg_server, f'drop database if exists "{database}" with (force)')
        _drop_roles(pg_server, roles, users)


# --- what each role may do, relation by relation -------------------------------------------


def _relations(warehouse: Warehouse) -> list[tuple[str, str, str]]:
    """Every user relation of the database, from the catalog: (schema, name, kind)."""
    return warehouse.query(
        "select n.nspname, c.relname, c.relkind::text from pg_catalog.pg_class as c\n"
        "join pg_catalog.pg_namespace as n on n.oid = c.relnamespace\n"
        "where c.relkind in ('r', 'p', 'v', 'm', 'f')\n"
        "    and n.nspname not in ('pg_catalog', 'information_schema')\n"
        "    and n.nspname not like 'pg\\_toast%'\n"
        "order by 1, 2"
    )


def _expected(job: str, schema: str, is_table: bool) -> tuple[bool, bool]:
    """(may read, may write) for a relation of ``schema``, from docs/roles.md."""
    if job == "loader":
        return (schema == LAYOUT.raw, is_table and schema == LAYOUT.raw)
    if job == "transformer":
        owned = schema in LAYOUT.transformer_schemas()
        return (owned or schema == LAYOUT.raw, is_table and owned)
    return (schema == LAYOUT.marts, False)


def assert_privileges_as_planned(warehouse: Warehouse) -> int:
    """Every relation of every schema, for each role: may it read, may it write?"""
    roles = ", ".join(
        f"('{job}', '{getattr(warehouse.roles, job)}')" for job in warehouse_roles.JOBS
    )
    writes = " or ".join(f"has_table_privilege(r.role, c.oid, '{w}')" for w in WRITES)
    rows = warehouse.query(
        "select r.job, n.nspname, c.relname,\n"
        "    has_schema_privilege(r.role, n.oid, 'usage')\n"
        "        and has_table_privilege(r.role, c.oid, 'select'),\n"
        # views are read-only whatever is granted on them
        f"    c.relkind in ('r', 'p') and ({writes}), c.relkind in ('r', 'p')\n"
        "from pg_catalog.pg_class as c\n"
        "join pg_catalog.pg_namespace as n on n.oid = c.relnamespace\n"
        f"cross join (values {roles}) as r (job, role)\n"
        "where c.relkind in ('r', 'p', 'v', 'm', 'f')\n"
        "    and n.nspname not in ('pg_catalog', 'information_schema')\n"
        "    and n.nspname not like 'pg\\_toast%'\n"
        "order by 2, 3, 1"
    )
    schemas = {row[1] for row in rows}
    # The build made relations in every layer, so the check below is not vacuous.
    assert {LAYOUT.raw, LAYOUT.marts, f"{LAYOUT.analytics}_staging"} <= schemas, schemas
    wrong = [
        f"{job} on {schema}.{name}: (read, write) {(read, write)}"
        for job, schema, name, read, write, is_table in rows
        if (read, write) != _expected(job, schema, is_table)
    ]
    assert not wrong, "privileges not as planned:\n" + "\n".join(wrong)
    return len(rows) // len(warehouse_roles.JOBS)


def test_bootstrap_is_idempotent(warehouse: Warehouse) -> None:
    first = warehouse.first_report
    assert any(s.startswith("create role") for s in first.statements), first.statements
    assert not warehouse.second_report.statements
    # After a full build too: the relations dbt and the loader made are as planned.
    again = warehouse.bootstrap()
    assert again.statements == [] and again.revoked == [], again


def test_dbt_grants_the_reporter_every_mart_and_nothing_else(warehouse: Warehouse) -> None:
    """The grants dbt applies itself (the default privileges are a second line)."""
    manifest = json.loads((warehouse.work / "target" / "manifest.json").read_text())
    models = [n for n in manifest["nodes"].values() if n["resource_type"] == "model"]
    marts = {n["name"]: n["config"]["grants"] for n in models if n["schema"] == LAYOUT.marts}
    assert marts and all(g == {"select": [warehouse.roles.reporter]} for g in marts.values())
    others = {n["name"]: n["config"]["grants"] for n in models if n["schema"] != LAYOUT.marts}
    assert others and not any(others.values()), others


def test_every_relation_has_the_planned_privileges_after_the_build(warehouse: Warehouse) -> None:
    assert assert_privileges_as_planned(warehouse) > 50


def _refused(warehouse: Warehouse, job: str, sql: str) -> None:
    with pytest.raises(psycopg2.errors.InsufficientPrivilege):
        warehouse.query(sql, job)


def _marts(warehouse: Warehouse) -> list[str]:
    return [name for schema, name, _ in _relations(warehouse) if schema == LAYOUT.marts]


def test_reporter_reads_every_mart_and_nothing_else(warehouse: Warehouse) -> None:
    relations = _relations(warehouse)
    marts = [name for schema, name, _ in relations if schema == LAYOUT.marts]
    assert {"fct_orders", "dim_customers", "customer_360"} <= set(marts), marts
    others = [f'"{schema}"."{name}"' for schema, name, _ in relations if schema != LAYOUT.marts]
    assert f'"{DEFAULT_RAW_SCHEMA}"."_load_runs"' in others
    assert any(f'"{LAYOUT.analytics}_intermediate".' in o for o in others), others
    assert f'"{LAYOUT.ops}"."dbt_run_results"' in others
    connection = warehouse.connect("reporter")
    try:
        with connection.cursor() as cursor:
            for name in marts:
                cursor.execute(f'select count(*) from "{LAYOUT.marts}"."{name}"')
            for relation in others:  # raw, the audit table, staging, intermediate, snapshots...
                with pytest.raises(psycopg2.errors.InsufficientPrivilege):
                    cursor.execute(f"select * from {relation} limit 1")
    finally:
        connection.close()
    _refused(warehouse, "reporter", f"delete from {LAYOUT.marts}.fct_orders")
    _refused(
        warehouse,
        "reporter",
        f"insert into {LAYOUT.marts}.dim_dates select * from {LAYOUT.marts}.dim_dates limit 1",
    )
    _refused(warehouse, "reporter", f"create table {LAYOUT.marts}.mine (a int)")
    _refused(warehouse, "reporter", "create schema reporter_sandbox")


def test_loader_is_refused_the_analytics_schemas(warehouse: Warehouse) -> None:
    _refused(warehouse, "loader", f"select * from {LAYOUT.marts}.fct_orders limit 1")
    _refused(warehouse, "loader", f"select * from {LAYOUT.analytics}_staging.stg_olist__orders")
    _refused(warehouse, "loader", f"create table {LAYOUT.analytics}_staging.mine (a int)")
    _refused(warehouse, "loader", f"drop table {LAYOUT.marts}.fct_orders")
    _refused(warehouse, "loader", "create schema loader_sandbox")


def test_transformer_is_refused_writing_raw_and_the_audit_table(warehouse: Warehouse) -> None:
    warehouse.query(f"select count(*) from {DEFAULT_RAW_SCHEMA}._load_runs", "transformer")
    _refused(
        warehouse, "transformer",
        f"insert into {DEFAULT_RAW_SCHEMA}._load_runs (load_id, table_name, started_at, status)"
        " values ('x', 'x', now(), 'loaded')",
    )  # fmt: skip
    _refused(warehouse, "transformer", f"delete from {DEFAULT_RAW_SCHEMA}._load_runs")
    _refused(warehouse, "transformer", f"truncate {DEFAULT_RAW_SCHEMA}.orders")
    _refused(warehouse, "transformer", f"drop table {DEFAULT_RAW_SCHEMA}.orders")
    _refused(warehouse, "transformer", f"create table {DEFAULT_RAW_SCHEMA}.mine (a int)")


def _write_drop(warehouse: Warehouse) -> Path:
    """A daily drop re-sending a few orders (new versions of existing keys)."""
    spec = by_table("orders")
    source = warehouse.work / "data" / spec.file_name
    root = warehouse.work / "drops"
    folder = root / f"ingest_date={DROP_DAY}"
    folder.mkdir(parents=True)
    with source.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))[:6]
    with (folder / spec.file_name).open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(rows)
    return root


def test_grants_survive_a_daily_drop_an_incremental_run_and_a_full_refresh(
    warehouse: Warehouse,
) -> None:
    root = _write_drop(warehouse)
    with patched_env(warehouse.env):
        reports = load_drops(
            str(root), target="postgres_loader", profiles_dir=str(warehouse.work / "profiles")
        )
    assert reports and all(r.ok for r in reports), [r.tables for r in reports]
    warehouse.dbt("build", "--exclude", "resource_type:unit_test")
    assert_privileges_as_planned(warehouse)
    # A full reload by the loader (truncate) and a full refresh by dbt (every table replaced).
    with patched_env(warehouse.env):
        report = load(
            str(warehouse.work / "data"), target="postgres_loader",
            profiles_dir=str(warehouse.work / "profiles"), force=True,
        )  # fmt: skip
    assert report.ok
    warehouse.dbt("build", "--full-refresh", "--exclude", "resource_type:unit_test")
    assert assert_privileges_as_planned(warehouse) > 50
    assert warehouse.bootstrap(check=True).statements == []


# --- extra privileges are revoked, foreign grants reported ---------------------------------


@pytest.fixture
def widened(pg_server: devserver.PgServer) -> Iterator[tuple[devserver.PgServer, str, Roles]]:
    """A database where the roles exist and were given more than the plan."""
    database = f"roles_{uuid.uuid4().hex[:8]}"
    devserver.create_database(pg_server, database)
    roles, users = _new_roles(pg_server)
    admin(pg_server, "select 1")
    connection = psycopg2.connect(pg_server.dsn(database))
    try:
        bootstrap(connection, roles, LAYOUT)
        connection.autocommit = True
        with connection.cursor() as cursor:
            for sql in (
                f"create table {DEFAULT_RAW_SCHEMA}.orders (order_id text)",
                f"alter table {DEFAULT_RAW_SCHEMA}.orders owner to {roles.loader}",
                f"create table {LAYOUT.marts}.fct_orders (order_id text)",
                f"alter table {LAYOUT.marts}.fct_orders owner to {roles.transformer}",
                "create table public.notes (a text)",
                f"alter role {roles.reporter} createdb",
                f"grant {roles.loader} to {roles.reporter}",
                f"grant select on {DEFAULT_RAW_SCHEMA}.orders to {roles.reporter}",
                f"grant insert on {LAYOUT.marts}.fct_orders to {roles.reporter}",
                f"grant create on schema {LAYOUT.marts} to {roles.reporter}",
                f"grant select on public.notes to {roles.loader}",
                f'grant create on database "{database}" to {roles.loader}',
                f"grant select on {LAYOUT.marts}.fct_orders to public",
                f"grant select on {LAYOUT.marts}.fct_orders to {users['reporter']}",
                f"alter default privileges for role {roles.transformer} in schema "
                f"{LAYOUT.analytics}_staging grant select on tables to {roles.reporter}",
            ):
                cursor.execute(sql)
        yield pg_server, database, roles
    finally:
        connection.close()
        admin(pg_server, f'drop database if exists "{database}" with (force)')
        _drop_roles(pg_server, roles, users)


def test_extra_privileges_are_reported_then_revoked(
    widened: tuple[devserver.PgServer, str, Roles],
) -> None:
    server, database, roles = widened
    connection = psycopg2.connect(server.dsn(database))
    try:
        checked = bootstrap(connection, roles, LAYOUT, check=True)
        # check changed nothing: the same findings again
        assert bootstrap(connection, roles, LAYOUT, check=True).revoked == checked.revoked
        revoked = bootstrap(connection, roles, LAYOUT)
        after = bootstrap(connection, roles, LAYOUT)
    finally:
        connection.close()
    assert checked.revoked == revoked.revoked
    found = "\n".join(revoked.revoked)
    for expected in (
        f"role {roles.reporter}: attributes nocreatedb",
        f"role {roles.reporter}: member of {roles.loader}",
        f"{DEFAULT_RAW_SCHEMA}.orders: SELECT to {roles.reporter}",
        f"{LAYOUT.marts}.fct_orders: INSERT to {roles.reporter}",
        f"schema {LAYOUT.marts}: CREATE to {roles.reporter}",
        f"public.notes: SELECT to {roles.loader}",
        f"database: CREATE to {roles.loader}",
        f"{LAYOUT.marts}.fct_orders: SELECT to public",
        f"SELECT on tables to {roles.reporter}",
    ):
        assert expected in found, f"{expected!r} not revoked; revoked:\n{found}"
    # A grant to a login that is not a project role is reported, not revoked.
    assert any(
        "SELECT to t" in other and "_reporter_login" in other for other in revoked.other_grantees
    )
    assert after.statements == [] and after.revoked == []


def test_check_exits_1_on_drift(
    widened: tuple[devserver.PgServer, str, Roles],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    server, database, roles = widened
    shutil.copyfile(PROJECT_ROOT / "profiles.yml.example", tmp_path / "profiles.yml")
    for key, value in {**server.env(), "OLIST_PG_DATABASE": database}.items():
        monkeypatch.setenv(key, value)
    for job in warehouse_roles.JOBS:
        monkeypatch.setenv(warehouse_roles.ROLE_ENV[job], getattr(roles, job))
    argv = ["roles", "apply", "--profiles-dir", str(tmp_path)]
    assert olist([*argv, "--check"]) == 1
    assert "extra: role" in capsys.readouterr().out
    assert olist(argv) == 0
    assert olist([*argv, "--check"]) == 0
    assert "nothing to change" in capsys.readouterr().out


# --- personal data ----------------------------------------------------------------------------


def test_no_mart_carries_free_text_or_direct_identifiers(warehouse: Warehouse) -> None:
    """docs/roles.md: the marts hold pseudonymous ids and coarse places only, so the reporting
    role needs no column-level split. Review titles and messages (free text customers wrote)
    stay in raw and staging."""
    columns = warehouse.query(
        "select table_name, column_name from information_schema.columns "
        f"where table_schema = '{LAYOUT.marts}'"
    )
    assert columns
    forbidden = re.compile(
        r"comment|message|review_title|email|phone|street|(first|last|full|customer|seller)_name"
    )
    leaks = [f"{t}.{c}" for t, c in columns if forbidden.search(c)]
    assert not leaks, f"personal free text or identifiers in the marts: {leaks}"


# --- Redshift, offline ------------------------------------------------------------------------

_IDENT = r'(?:[a-z_][a-z0-9_]*|"[^"]+")'
REDSHIFT_GRAMMAR = [
    re.compile(p)
    for p in (
        rf"create role {_IDENT}",
        rf"grant role {_IDENT} to {_IDENT}",
        rf"create schema if not exists {_IDENT} authorization {_IDENT}",
        rf"alter schema {_IDENT} owner to {_IDENT}",
        rf"grant (usage|usage, create) on schema {_IDENT} to role {_IDENT}",
        rf"grant select on all tables in schema {_IDENT} to role {_IDENT}",
        rf"alter default privileges for user {_IDENT} in schema {_IDENT} "
        rf"grant select on tables to role {_IDENT}",
    )
]


def test_redshift_statements_are_redshift_sql() -> None:
    statements = redshift_statements(Roles(), Layout())
    assert len(statements) > 20
    for statement in statements:
        assert any(g.fullmatch(statement) for g in REDSHIFT_GRAMMAR), statement
        parse_redshift(statement)
    joined = "\n".join(statements)
    assert "to role olist_reporter" in joined and "raw_olist to role olist_reporter" not in joined
    # A role that exists already is not created again (Redshift has no IF NOT EXISTS).
    again = redshift_statements(Roles(), Layout(), existing_roles=["olist_loader"])
    assert "create role olist_loader" not in again and "create role olist_reporter" in again


def test_infra_redshift_roles_sql_is_the_generated_script(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in warehouse_roles.ROLE_ENV.values():
        monkeypatch.delenv(name, raising=False)
    written = (PROJECT_ROOT / "infra" / "redshift" / "roles.sql").read_text(encoding="utf-8")
    assert written == redshift_script(redshift_statements(Roles(), Layout())), (
        "infra/redshift/roles.sql is stale: olist roles redshift-sql > infra/redshift/roles.sql"
    )


def test_dbt_schema_names_are_the_ones_the_roles_cover() -> None:
    import yaml

    project = yaml.safe_load((PROJECT_ROOT / "dbt_project.yml").read_text(encoding="utf-8"))
    found: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "+schema":
                    found.add(value)
                walk(value)

    walk({k: project[k] for k in ("models", "seeds", "snapshots", "data_tests")})
    assert found == set(warehouse_roles.DBT_SCHEMA_SUFFIXES)
