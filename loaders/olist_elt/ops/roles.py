"""Least-privilege roles inside the warehouse: one idempotent bootstrap (docs/roles.md).

Three roles, each with exactly what its job needs:

- loader (``olist_loader``): owns the raw schema, so it creates, replaces and truncates the
  raw tables and writes the audit table ``_load_runs`` there; nothing else.
- transformer (``olist_transformer``, dbt): reads every raw table, owns the analytics schemas
  (``<analytics>`` and its dbt custom schemas, see ``DBT_SCHEMA_SUFFIXES``) and ``ops``.
- reporter (``olist_reporter``, analysts, dashboards, the semantic layer): reads the marts.

On PostgreSQL :func:`bootstrap` brings a database to that state and says what it changed:
it creates missing roles and schemas, hands schemas and the relations in them to their
owner, grants what is missing (existing tables, and default privileges for tables created
later), and REVOKES what the three roles (and PUBLIC, in the project's schemas) hold beyond
the plan: role attributes (superuser, createrole, createdb, replication, bypassrls),
memberships in other roles, database CREATE, schema and table privileges anywhere in the
database, default privileges. Grants to other roles are reported, never revoked: they belong
to whoever made them. ``check=True`` reports the same changes without making them. Run twice,
the second run changes nothing. Column-level grants are not inspected.

On Redshift nothing is applied from here (no cluster is reachable): :func:`redshift_statements`
writes the statements for an administrator or Terraform (``infra/redshift/roles.sql``).

    olist roles apply [--target postgres] [--member transformer=alice] [--check]
    olist roles redshift-sql [--loader-user U --transformer-user U ...]
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from olist_elt.errors import ConfigError
from olist_elt.load.sql import ident, literal, qualified
from olist_elt.spec import DEFAULT_RAW_SCHEMA

log = logging.getLogger("olist_elt.ops.roles")

# The three jobs, the environment variables that rename their roles, and the defaults.
JOBS = ("loader", "transformer", "reporter")
ROLE_ENV = {
    "loader": "OLIST_LOADER_ROLE",
    "transformer": "OLIST_TRANSFORMER_ROLE",
    "reporter": "OLIST_REPORTER_ROLE",
}
DEFAULT_ROLES = {job: f"olist_{job}" for job in JOBS}
# dbt's custom schemas (`+schema` in dbt_project.yml); dbt names them <target schema>_<name>.
DBT_SCHEMA_SUFFIXES = ("staging", "intermediate", "marts", "snapshots", "seeds", "test_failures")
REPORTED_SUFFIX = "marts"
ANALYTICS_SCHEMA = "analytics"
OPS_SCHEMA = "ops"  # ops.dbt_run_results (olist_elt.ops.run_history), written after dbt runs

# pg_roles attributes none of the three roles may have.
FORBIDDEN_ATTRIBUTES = {
    "rolsuper": "nosuperuser",
    "rolcreaterole": "nocreaterole",
    "rolcreatedb": "nocreatedb",
    "rolreplication": "noreplication",
    "rolbypassrls": "nobypassrls",
}
SYSTEM_SCHEMA_FILTER = (
    "n.nspname not in ('pg_catalog', 'information_schema') "
    "and n.nspname not like 'pg\\_toast%' and n.nspname not like 'pg\\_temp\\_%'"
)
# aclexplode() privilege names -> the keyword REVOKE takes, per object kind.
_PRIVILEGES = {
    "SELECT": "select", "INSERT": "insert", "UPDATE": "update", "DELETE": "delete",
    "TRUNCATE": "truncate", "REFERENCES": "references", "TRIGGER": "trigger",
    "USAGE": "usage", "CREATE": "create", "TEMPORARY": "temporary", "CONNECT": "connect",
    "MAINTAIN": "maintain",
}  # fmt: skip
_RELATION_KINDS = {"r": "table", "p": "table", "v": "view", "m": "materialized view",
                   "f": "foreign table", "S": "sequence"}  # fmt: skip


@dataclass(frozen=True)
class Roles:
    """The three role names (environment variables ``OLIST_*_ROLE`` rename them)."""

    loader: str = DEFAULT_ROLES["loader"]
    transformer: str = DEFAULT_ROLES["transformer"]
    reporter: str = DEFAULT_ROLES["reporter"]

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Roles:
        environ = os.environ if environ is None else environ
        names = {job: environ.get(ROLE_ENV[job]) or DEFAULT_ROLES[job] for job in JOBS}
        if len(set(names.values())) != len(JOBS):
            raise ConfigError(f"the three roles need three different names, got {names}")
        return cls(**names)

    def all(self) -> tuple[str, str, str]:
        return (self.loader, self.transformer, self.reporter)


@dataclass(frozen=True)
class Layout:
    """Where the project's relations live: raw schema, dbt target schema, ops schema."""

    raw: str = DEFAULT_RAW_SCHEMA
    analytics: str = ANALYTICS_SCHEMA
    ops: str = OPS_SCHEMA

    @property
    def marts(self) -> str:
        return f"{self.analytics}_{REPORTED_SUFFIX}"

    def transformer_schemas(self) -> tuple[str, ...]:
        return (
            self.analytics,
            *(f"{self.analytics}_{suffix}" for suffix in DBT_SCHEMA_SUFFIXES),
            self.ops,
        )


@dataclass(frozen=True)
class Plan:
    """The desired state: who owns each schema, who may use it, read it, and read what
    its owner creates in it later (default privileges)."""

    owners: dict[str, str]
    usage: frozenset[tuple[str, str]]  # (schema, role) beyond the owner
    select: frozenset[tuple[str, str]]  # (schema, role): every relation of the schema
    defaults: frozenset[tuple[str, str, str]]  # (creator role, schema, grantee)

    @property
    def schemas(self) -> tuple[str, ...]:
        return tuple(self.owners)


def plan(roles: Roles, layout: Layout) -> Plan:
    owners = {layout.raw: roles.loader}
    owners.update(dict.fromkeys(layout.transformer_schemas(), roles.transformer))
    return Plan(
        owners=owners,
        usage=frozenset({(layout.raw, roles.transformer), (layout.marts, roles.reporter)}),
        select=frozenset({(layout.raw, roles.transformer), (layout.marts, roles.reporter)}),
        defaults=frozenset(
            {
                (roles.loader, layout.raw, roles.transformer),
                (roles.transformer, layout.marts, roles.reporter),
            }
        ),
    )


@dataclass
class Report:
    """What the bootstrap changed (or, with check, would change), as SQL and as text."""

    statements: list[str] = field(default_factory=list)
    revoked: list[str] = field(default_factory=list)  # privileges beyond the plan
    other_grantees: list[str] = field(default_factory=list)  # reported only

    @property
    def changed(self) -> bool:
        return bool(self.statements)


class _Bootstrap:
    def __init__(self, connection: Any, roles: Roles, layout: Layout, check: bool) -> None:
        self.connection = connection
        self.roles = roles
        self.layout = layout
        self.plan = plan(roles, layout)
        self.check = check
        self.report = Report()

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        with self.connection.cursor() as cursor:
            cursor.execute(sql)
            return cursor.fetchall()

    def change(self, sql: str, revoked: str | None = None) -> None:
        self.report.statements.append(sql)
        if revoked:
            self.report.revoked.append(revoked)
        # Run even with check: later steps inspect the state earlier ones make (a role
        # just created), and the whole transaction is rolled back at the end.
        with self.connection.cursor() as cursor:
            cursor.execute(sql)

    def ours(self) -> str:
        return ", ".join(literal(name) for name in self.roles.all())

    # --- roles -------------------------------------------------------------------------------

    def ensure_roles(self, members: Mapping[str, Sequence[str]]) -> None:
        existing = {row[0]: row[1:] for row in self.query(
            f"select rolname, {', '.join(FORBIDDEN_ATTRIBUTES)} from pg_catalog.pg_roles "
            f"where rolname in ({self.ours()})"
        )}  # fmt: skip
        for name in self.roles.all():
            if name not in existing:
                # No login: people and programs log in as their own users, members of it.
                self.change(f"create role {ident(name)} nologin")
                continue
            held = [
                keyword
                for (column, keyword), flag in zip(
                    FORBIDDEN_ATTRIBUTES.items(), existing[name], strict=True
                )
                if flag
            ]
            if held:
                self.change(
                    f"alter role {ident(name)} {' '.join(held)}",
                    revoked=f"role {name}: attributes {', '.join(held)}",
                )
        # Memberships of the three roles in any other role widen them: none is planned.
        for member, granted in self.query(
            "select m.rolname, r.rolname from pg_catalog.pg_auth_members as a\n"
            "join pg_catalog.pg_roles as m on m.oid = a.member\n"
            "join pg_catalog.pg_roles as r on r.oid = a.roleid\n"
            f"where m.rolname in ({self.ours()}) order by 1, 2"
        ):
            self.change(
                f"revoke {ident(granted)} from {ident(member)}",
                revoked=f"role {member}: member of {granted}",
            )
        current = set(self.query(
            "select r.rolname, m.rolname from pg_catalog.pg_auth_members as a\n"
            "join pg_catalog.pg_roles as m on m.oid = a.member\n"
            "join pg_catalog.pg_roles as r on r.oid = a.roleid\n"
            f"where r.rolname in ({self.ours()})"
        ))  # fmt: skip
        for job, users in members.items():
            role = getattr(self.roles, job)
            for user in users:
                if (role, user) not in current:
                    self.change(f"grant {ident(role)} to {ident(user)}")

    def database_privileges(self) -> None:
        for grantee, privilege in self.query(
            "select g.rolname, a.privilege_type from pg_catalog.pg_database as d\n"
            "cross join lateral aclexplode(d.datacl) as a\n"
            "join pg_catalog.pg_roles as g on g.oid = a.grantee\n"
            f"where d.datname = current_database() and g.rolname in ({self.ours()})\n"
            "    and a.privilege_type <> 'CONNECT' order by 1, 2"
        ):
            self.change(
                f"revoke {_PRIVILEGES[privilege]} on database "
                f"{ident(self.current_database())} from {ident(grantee)}",
                revoked=f"database: {privilege} to {grantee}",
            )

    def current_database(self) -> str:
        return str(self.query("select current_database()")[0][0])

    # --- schemas ----------------------------------------------------------------------------

    def ensure_schemas(self) -> None:
        owners = dict(self.query(
            "select n.nspname, pg_catalog.pg_get_userbyid(n.nspowner) "
            "from pg_catalog.pg_namespace as n "
            f"where n.nspname in ({', '.join(literal(s) for s in self.plan.schemas)})"
        ))  # fmt: skip
        for schema, owner in self.plan.owners.items():
            if schema not in owners:
                self.change(f"create schema {ident(schema)} authorization {ident(owner)}")
            elif owners[schema] != owner:
                self.change(f"alter schema {ident(schema)} owner to {ident(owner)}")
        # Relations someone else created in a project schema move to the schema's owner, who
        # must be able to replace them (the loader truncates and alters raw tables).
        schemas = ", ".join(literal(s) for s in self.plan.schemas)
        for schema, name, kind, owner in self.query(
            "select n.nspname, c.relname, c.relkind::text, pg_catalog.pg_get_userbyid(c.relowner)\n"
            "from pg_catalog.pg_class as c\n"
            "join pg_catalog.pg_namespace as n on n.oid = c.relnamespace\n"
            f"where n.nspname in ({schemas}) and c.relkind in ('r', 'p', 'v', 'm', 'f')\n"
            "order by 1, 2"
        ):
            wanted = self.plan.owners[schema]
            if owner != wanted:
                self.change(
                    f"alter {_RELATION_KINDS[kind]} {qualified(schema, name)} owner to "
                    f"{ident(wanted)}"
                )

    def schema_privileges(self) -> None:
        project = set(self.plan.schemas)
        for schema, grantee, privilege in self.query(
            "select n.nspname, coalesce(g.rolname, 'public'), a.privilege_type\n"
            "from pg_catalog.pg_namespace as n cross join lateral aclexplode(n.nspacl) as a\n"
            "left join pg_catalog.pg_roles as g on g.oid = a.grantee\n"
            f"where {SYSTEM_SCHEMA_FILTER} and a.grantee <> n.nspowner order by 1, 2, 3"
        ):
            if (schema, grantee) in self.plan.usage and privilege == "USAGE":
                continue
            if grantee in self.roles.all() or (grantee == "public" and schema in project):
                self.change(
                    f"revoke {_PRIVILEGES[privilege]} on schema {ident(schema)} from "
                    f"{'public' if grantee == 'public' else ident(grantee)}",
                    revoked=f"schema {schema}: {privilege} to {grantee}",
                )
            elif schema in project:
                self.report.other_grantees.append(f"schema {schema}: {privilege} to {grantee}")
        held = set(self.query(
            "select n.nspname, g.rolname from pg_catalog.pg_namespace as n\n"
            "cross join lateral aclexplode(n.nspacl) as a\n"
            "join pg_catalog.pg_roles as g on g.oid = a.grantee where a.privilege_type = 'USAGE'"
        ))  # fmt: skip
        for schema, role in sorted(self.plan.usage - held):
            self.change(f"grant usage on schema {ident(schema)} to {ident(role)}")

    # --- relations --------------------------------------------------------------------------

    def relation_privileges(self) -> None:
        project = set(self.plan.schemas)
        for schema, name, kind, grantee, privilege in self.query(
            "select n.nspname, c.relname, c.relkind::text, coalesce(g.rolname, 'public'),\n"
            "    a.privilege_type\n"
            "from pg_catalog.pg_class as c\n"
            "join pg_catalog.pg_namespace as n on n.oid = c.relnamespace\n"
            "cross join lateral aclexplode(c.relacl) as a\n"
            "left join pg_catalog.pg_roles as g on g.oid = a.grantee\n"
            f"where {SYSTEM_SCHEMA_FILTER} and a.grantee <> c.relowner order by 1, 2, 4, 5"
        ):
            if (schema, grantee) in self.plan.select and privilege == "SELECT":
                continue
            what = (
                f"{_RELATION_KINDS.get(kind, 'relation')} {schema}.{name}: {privilege} to {grantee}"
            )
            if grantee in self.roles.all() or (grantee == "public" and schema in project):
                # `on table` covers tables, views and sequences alike in REVOKE.
                self.change(
                    f"revoke {_PRIVILEGES[privilege]} on table {qualified(schema, name)} from "
                    f"{'public' if grantee == 'public' else ident(grantee)}",
                    revoked=what,
                )
            elif schema in project:
                self.report.other_grantees.append(what)
        for schema, role in sorted(self.plan.select):
            for (name,) in self.query(
                "select c.relname from pg_catalog.pg_class as c\n"
                "join pg_catalog.pg_namespace as n on n.oid = c.relnamespace\n"
                f"where n.nspname = {literal(schema)} and c.relkind in ('r', 'p', 'v', 'm', 'f')\n"
                f"    and not has_table_privilege({literal(role)}, c.oid, 'select')\n"
                "order by 1"
            ):
                self.change(f"grant select on table {qualified(schema, name)} to {ident(role)}")

    def default_privileges(self) -> None:
        rows = self.query(
            "select c.rolname, coalesce(n.nspname, ''), d.defaclobjtype::text,\n"
            "    coalesce(g.rolname, 'public'), a.privilege_type\n"
            "from pg_catalog.pg_default_acl as d\n"
            "join pg_catalog.pg_roles as c on c.oid = d.defaclrole\n"
            "left join pg_catalog.pg_namespace as n on n.oid = d.defaclnamespace\n"
            "cross join lateral aclexplode(d.defaclacl) as a\n"
            "left join pg_catalog.pg_roles as g on g.oid = a.grantee\n"
            "where a.grantee <> d.defaclrole order by 1, 2, 3, 4, 5"
        )
        objects = {"r": "tables", "S": "sequences", "f": "functions", "T": "types", "n": "schemas"}
        held = set()
        for creator, schema, kind, grantee, privilege in rows:
            if (
                kind == "r"
                and privilege == "SELECT"
                and (creator, schema, grantee) in self.plan.defaults
            ):
                held.add((creator, schema, grantee))
                continue
            if grantee in self.roles.all():
                where = f" in schema {ident(schema)}" if schema else ""
                self.change(
                    f"alter default privileges for role {ident(creator)}{where} revoke "
                    f"{_PRIVILEGES.get(privilege, privilege.lower())} on {objects[kind]} "
                    f"from {ident(grantee)}",
                    revoked=f"default privileges of {creator}{where}: {privilege} on "
                    f"{objects[kind]} to {grantee}",
                )
        for creator, schema, grantee in sorted(self.plan.defaults - held):
            self.change(
                f"alter default privileges for role {ident(creator)} in schema {ident(schema)} "
                f"grant select on tables to {ident(grantee)}"
            )


def bootstrap(
    connection: Any,
    roles: Roles | None = None,
    layout: Layout | None = None,
    *,
    members: Mapping[str, Sequence[str]] | None = None,
    check: bool = False,
) -> Report:
    """Bring a PostgreSQL database to the plan (see the module docstring) in one transaction.

    ``connection`` is a psycopg2 connection of a role allowed to create roles and schemas
    (a superuser or the database owner with CREATEROLE). ``members`` maps a job to the
    login users that get its role. With ``check`` nothing is changed; the report lists the
    statements that would run.
    """
    roles = roles or Roles.from_env()
    layout = layout or Layout()
    unknown = set(members or {}) - set(JOBS)
    if unknown:
        raise ConfigError(f"unknown job(s) {sorted(unknown)} for --member: expected {JOBS}")
    run = _Bootstrap(connection, roles, layout, check)
    connection.autocommit = False
    try:
        run.ensure_roles(members or {})
        run.database_privileges()
        run.ensure_schemas()
        run.schema_privileges()
        run.relation_privileges()
        run.default_privileges()
    except BaseException:
        connection.rollback()
        raise
    if check:
        connection.rollback()
    else:
        connection.commit()
    return run.report


# --- Redshift --------------------------------------------------------------------------------


@dataclass(frozen=True)
class RedshiftUsers:
    """The database users that own what the loader and dbt create (Redshift default
    privileges and schema owners are per user, not per role)."""

    loader: str = "olist_loader_user"
    transformer: str = "olist_dbt_user"
    reporter: str = "olist_reporter_user"


def redshift_statements(
    roles: Roles | None = None,
    layout: Layout | None = None,
    users: RedshiftUsers | None = None,
    *,
    existing_roles: Iterable[str] = (),
) -> list[str]:
    """The plan as Redshift statements (role-based access control), for an administrator.

    Redshift has no ``create role if not exists``: roles in ``existing_roles`` (from
    ``select role_name from svv_roles``) are not created again. Every other statement can
    run again unchanged.
    """
    roles = roles or Roles.from_env()
    layout = layout or Layout()
    users = users or RedshiftUsers()
    target = plan(roles, layout)
    user_of = {roles.loader: users.loader, roles.transformer: users.transformer}
    present = set(existing_roles)
    statements = [f"create role {ident(role)}" for role in roles.all() if role not in present]
    statements += [
        f"grant role {ident(roles.loader)} to {ident(users.loader)}",
        f"grant role {ident(roles.transformer)} to {ident(users.transformer)}",
        f"grant role {ident(roles.reporter)} to {ident(users.reporter)}",
    ]
    for schema, owner in target.owners.items():
        user = user_of[owner]
        statements += [
            f"create schema if not exists {ident(schema)} authorization {ident(user)}",
            f"alter schema {ident(schema)} owner to {ident(user)}",
            f"grant usage, create on schema {ident(schema)} to role {ident(owner)}",
        ]
    for schema, role in sorted(target.usage):
        statements.append(f"grant usage on schema {ident(schema)} to role {ident(role)}")
    for schema, role in sorted(target.select):
        statements.append(
            f"grant select on all tables in schema {ident(schema)} to role {ident(role)}"
        )
    for creator, schema, grantee in sorted(target.defaults):
        statements.append(
            f"alter default privileges for user {ident(user_of[creator])} in schema "
            f"{ident(schema)} grant select on tables to role {ident(grantee)}"
        )
    return statements


def redshift_script(statements: Sequence[str]) -> str:
    header = (
        "-- Warehouse roles on Redshift (docs/roles.md). Generated by\n"
        "-- `olist roles redshift-sql`; edit the generator, not this file.\n"
        "-- Run as a superuser. Create the users first (passwords or IAM, never in this file).\n"
    )
    return header + "".join(f"{statement};\n" for statement in statements)


# --- used by `olist roles` -----------------------------------------------------------------------


def parse_members(values: Sequence[str]) -> dict[str, list[str]]:
    members: dict[str, list[str]] = {}
    for value in values:
        job, sep, user = value.partition("=")
        if not sep or job not in JOBS or not user:
            raise ConfigError(f"--member {value!r}: expected JOB=USER with JOB one of {JOBS}")
        members.setdefault(job, []).append(user)
    return members


def connect(profiles_dir: str | None, target: str | None) -> Any:
    """A psycopg2 connection as the admin of a postgres output of the profile."""
    import psycopg2

    from olist_elt.load.targets.postgres import _CONNECT_KEYS
    from olist_elt.profiles import read_target

    profile = read_target(profiles_dir, target)
    if profile.type != "postgres":
        raise ConfigError(
            f"output {profile.name!r} is {profile.type}: the bootstrap applies to PostgreSQL "
            "(Redshift: `redshift-sql`; DuckDB has no roles, see docs/roles.md)"
        )
    settings = dict(profile.settings)
    settings.setdefault("dbname", settings.get("database"))
    params = {k: settings[k] for k in _CONNECT_KEYS if settings.get(k) not in (None, "")}
    return psycopg2.connect(application_name="olist-roles", **params)
