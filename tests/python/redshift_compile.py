"""Compile the whole dbt project for the `redshift` target without a Redshift cluster.

Why this is not just `dbt compile`: dbt opens a connection while compiling (to build its
relation cache, to answer `is_incremental()` and to read the column types unit-test
fixtures are cast to; `--no-introspect` does not avoid it), and dbt-redshift talks to
the warehouse through redshift_connector, which a plain PostgreSQL server turns away at
startup (`unrecognized configuration parameter "client_protocol_version"`).

The stand-in used here is a throwaway PostgreSQL server (Redshift speaks the same wire
protocol and its catalog queries are PostgreSQL SQL) reached through a small loopback
relay, `RedshiftWireShim`, which only touches the connection's startup:

* it answers the TLS request with "no TLS" (the profile's sslmode is `disable` here);
* it drops the Redshift-only startup parameters redshift_connector sends
  (client_protocol_version, driver_version, os_version, ...);
* it rewrites the server_version status to its bare number, because redshift_connector
  parses it as a version ("15.8 (Debian ...)" is not one);

after which it relays bytes unchanged. Redshift catalog objects that dbt-redshift's
introspection reads and PostgreSQL lacks (`pg_get_late_binding_view_cols()`,
`svv_external_columns`) are created empty in the stand-in database.

The stand-in database holds the raw tables (empty, from spec.py) and every model, seed
and snapshot built from them, with zero rows, by the `postgres` target, in the
same database and schemas the `redshift` target uses. So the redshift compile sees real
relations: incremental models compile their incremental branch, and a second pass with
`--full-refresh` (only when the project has incremental models) compiles the other one.
Nothing of dbt or dbt-redshift is patched: the adapter, its macros and the driver run
as shipped; one compile-time macro is answered differently (see _STANDIN_MACROS).

What this proves: every model, data test, snapshot and analysis compiles with the
Redshift adapter, its SQL parses in sqlglot's Redshift dialect, and it uses none of the
constructs screened out by redshift_portability_problems(). It does not prove the SQL
runs on Redshift (function availability, type coercions, DDL options): only a cluster can.

    python tests/python/redshift_compile.py    # or: make redshift-check
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import re
import shutil
import socket
import struct
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import psycopg2
import sqlglot
from sqlglot import exp
from sqlglot.errors import ErrorLevel

from dbt_cli import copy_project
from olist_elt.dev import postgres as devserver
from olist_elt.dev.postgres import PgServer
from olist_elt.load.targets.postgres import PostgresTarget
from olist_elt.settings import PRODUCTION_DBT_VARS
from olist_elt.spec import DEFAULT_RAW_SCHEMA, LINEAGE_COLUMNS, OLIST_FILES

log = logging.getLogger("redshift_compile")

PROJECT_ROOT = Path(__file__).resolve().parents[2]
PROJECT_NAME = "olist_elt"
# Redshift's default database name; the postgres target is pointed at the same one so
# relations built by it are the ones the redshift target looks up.
STANDIN_DATABASE = "dev"
# Node types `dbt compile` compiles. Unit tests are not among them (dbt compiles them only
# when it runs them); their SQL is the model's plus fixture CTEs.
COMPILED_RESOURCE_TYPES = ("model", "test", "snapshot", "analysis")

# --- the wire relay ---------------------------------------------------------------------

_SSL_REQUEST = 80877103
_GSS_REQUEST = 80877104
_PROTOCOL_3 = 196608
# Startup parameters PostgreSQL understands; everything else redshift_connector sends
# is Redshift-only and would end the connection with "unrecognized configuration parameter".
_POSTGRES_STARTUP_KEYS = frozenset({b"user", b"database", b"application_name", b"options"})
_SERVER_VERSION = b"server_version\x00"


def _recv_exact(sock: socket.socket, size: int) -> bytes:
    chunks = bytearray()
    while len(chunks) < size:
        chunk = sock.recv(size - len(chunks))
        if not chunk:
            raise ConnectionError(f"peer closed after {len(chunks)} of {size} bytes")
        chunks += chunk
    return bytes(chunks)


def _read_startup(client: socket.socket) -> tuple[int, bytes]:
    """The client's StartupMessage, after refusing TLS/GSS requests (the client then retries)."""
    while True:
        (length,) = struct.unpack("!i", _recv_exact(client, 4))
        body = _recv_exact(client, length - 4)
        (code,) = struct.unpack("!i", body[:4])
        if code in (_SSL_REQUEST, _GSS_REQUEST):
            client.sendall(b"N")
            continue
        if code != _PROTOCOL_3:
            raise ConnectionError(f"unexpected startup code {code}")
        return code, body[4:]


def _postgres_startup_params(payload: bytes) -> bytes:
    """Keep the startup key/value pairs PostgreSQL knows, in their order."""
    fields = payload.rstrip(b"\x00").split(b"\x00")
    kept: list[bytes] = []
    for key, value in zip(fields[0::2], fields[1::2], strict=True):
        if key in _POSTGRES_STARTUP_KEYS:
            kept += [key, value]
        else:
            log.debug("dropping Redshift startup parameter %s=%s", key, value)
    return b"\x00".join(kept) + b"\x00\x00"


def _relay_until_ready(upstream: socket.socket, client: socket.socket) -> None:
    """Relay the server's startup replies up to ReadyForQuery, fixing server_version."""
    while True:
        head = _recv_exact(upstream, 5)
        kind = head[:1]
        body = _recv_exact(upstream, struct.unpack("!i", head[1:])[0] - 4)
        if kind == b"S" and body.startswith(_SERVER_VERSION):
            raw = body[len(_SERVER_VERSION) : -1]
            match = re.match(rb"\d+(\.\d+)*", raw)
            body = _SERVER_VERSION + (match.group(0) if match else raw) + b"\x00"
            head = kind + struct.pack("!i", len(body) + 4)
        client.sendall(head + body)
        if kind in (b"Z", b"E"):  # ready, or the login failed: hand over either way
            return


def _pump(source: socket.socket, sink: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            sink.sendall(data)
    except OSError:
        pass
    finally:
        for sock in (source, sink):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


class RedshiftWireShim:
    """A loopback port where redshift_connector can log in to a PostgreSQL server."""

    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        self.upstream = (upstream_host, upstream_port)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._listener.getsockname()[1])
        self._connections: list[socket.socket] = []
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._accept_loop, daemon=True)

    def __enter__(self) -> RedshiftWireShim:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._closed.set()
        self._listener.close()
        for sock in self._connections:
            with contextlib.suppress(OSError):
                sock.close()

    def _accept_loop(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        self._connections.append(client)
        try:
            code, payload = _read_startup(client)
            upstream = socket.create_connection(self.upstream)
            self._connections.append(upstream)
            # Small request/response messages: without this, Nagle's algorithm and delayed
            # ACKs add tens of milliseconds to every round trip through the relay.
            for sock in (client, upstream):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            body = struct.pack("!i", code) + _postgres_startup_params(payload)
            upstream.sendall(struct.pack("!i", len(body) + 4) + body)
        except (OSError, ConnectionError) as exc:
            log.warning("shim: connection setup failed: %s", exc)
            client.close()
            return
        # Client to server is relayed as is from here on (the password exchange included);
        # server to client only after the startup replies have been fixed up.
        threading.Thread(target=_pump, args=(client, upstream), daemon=True).start()
        try:
            _relay_until_ready(upstream, client)
        except (OSError, ConnectionError) as exc:
            log.warning("shim: login through the shim failed: %s", exc)
            upstream.close()
            return
        _pump(upstream, client)


# --- the stand-in database --------------------------------------------------------------

# Empty stand-ins for the Redshift catalog objects dbt-redshift's column introspection
# reads (redshift__get_columns_in_relation): late-binding views and Spectrum columns.
_REDSHIFT_CATALOG_STANDINS = """
create function public.pg_get_late_binding_view_cols() returns setof record
language sql as $$
    select null::name, null::name, null::name, null::varchar, null::int where false
$$;
set allow_system_table_mods = on;
create view pg_catalog.svv_external_columns as
select
    null::varchar as schemaname,
    null::varchar as tablename,
    null::varchar as columnname,
    null::varchar as external_type,
    null::int as columnnum,
    null::int as part_key,
    null::varchar as is_nullable
where false;
grant select on pg_catalog.svv_external_columns to public;
"""


def prepare_standin(server: PgServer, database: str = STANDIN_DATABASE) -> None:
    """Create the stand-in database: empty raw tables and the Redshift catalog stand-ins."""
    devserver.create_database(server, database)
    raw_schema = os.environ.get("OLIST_RAW_SCHEMA", DEFAULT_RAW_SCHEMA)
    statements = [f'create schema "{raw_schema}"']
    for olist_file in OLIST_FILES:
        columns = [f'"{name}" text' for name in olist_file.column_names]
        # Typed as the loader types them on PostgreSQL.
        lineage_types = PostgresTarget.lineage_types
        columns += [f'"{name}" {lineage_types[name]}' for name in LINEAGE_COLUMNS]
        statements.append(
            f'create table "{raw_schema}"."{olist_file.table}" ({", ".join(columns)})'
        )
    connection = psycopg2.connect(server.dsn(database))
    try:
        with connection, connection.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement)
            cursor.execute(_REDSHIFT_CATALOG_STANDINS)
    finally:
        connection.close()


# --- running dbt ------------------------------------------------------------------------


class DbtCommandError(RuntimeError):
    """A dbt command failed; the message lists the failing nodes and their errors."""


def _profiles_dir(work_dir: Path) -> Path:
    """The project's own profiles.yml.example: compiling also checks it parses."""
    folder = work_dir / "profiles"
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(PROJECT_ROOT / "profiles.yml.example", folder / "profiles.yml")
    return folder


def standin_env(
    server: PgServer, shim_port: int, database: str = STANDIN_DATABASE
) -> dict[str, str]:
    """Environment for profiles.yml.example: both targets on the stand-in database."""
    return {
        "OLIST_PG_HOST": server.host,
        "OLIST_PG_PORT": str(server.port),
        "OLIST_PG_USER": server.user,
        "OLIST_PG_PASSWORD": server.password,
        "OLIST_PG_DATABASE": database,
        "OLIST_REDSHIFT_HOST": "127.0.0.1",
        "OLIST_REDSHIFT_PORT": str(shim_port),
        "OLIST_REDSHIFT_USER": server.user,
        "OLIST_REDSHIFT_PASSWORD": server.password,
        "OLIST_REDSHIFT_DATABASE": database,
        "OLIST_REDSHIFT_SSLMODE": "disable",
    }


@contextlib.contextmanager
def patched_env(values: dict[str, str]) -> Iterator[None]:
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


# Compile-time queries dbt runs in the warehouse's own dialect, which the stand-in cannot
# answer as written. dbt.date_spine asks `select datediff(day, a, b)`; PostgreSQL has no
# datediff, so in the copy compiled here the question is asked with PostgreSQL's date
# arithmetic. The answer, and therefore the compiled SQL, is what Redshift would give.
_STANDIN_MACROS = """\
{% macro redshift__get_intervals_between(start_date, end_date, datepart) -%}
    {%- call statement('get_intervals_between', fetch_result=True) %}
        select {{ postgres__datediff(start_date, end_date, datepart) }}
    {%- endcall -%}
    {%- set value_list = load_result('get_intervals_between') -%}
    {%- if value_list and value_list['data'] -%}
        {{ return(value_list['data'][0][0] | int) }}
    {%- else -%}
        {{ return(1) }}
    {%- endif -%}
{%- endmacro %}
"""


def copy_project_for_standin(work_dir: Path) -> Path:
    """A copy of the dbt project plus the stand-in's macro overrides (never the work tree)."""
    destination = work_dir / "project"
    if destination.exists():
        shutil.rmtree(destination)
    copy_project(destination)
    (destination / "macros" / "_redshift_standin.sql").write_text(_STANDIN_MACROS)
    return destination


def run_dbt(args: Sequence[str], *, project_dir: Path, work_dir: Path, target_path: Path) -> None:
    """Run one dbt command in-process; raise with the failing nodes and their errors."""
    from dbt.cli.main import dbtRunner

    full_args = [
        *args,
        "--project-dir",
        str(project_dir),
        "--profiles-dir",
        str(_profiles_dir(work_dir)),
        "--target-path",
        str(target_path),
        "--log-path",
        str(work_dir / "logs"),
        "--no-use-colors",
        # Production: incremental models compile (and build) incrementally when their table
        # exists. dbt's development default would rebuild them whole, and the incremental
        # pass would compile the full-refresh branch twice.
        "--vars",
        json.dumps(PRODUCTION_DBT_VARS),
    ]
    log.info("dbt %s", " ".join(args))
    result = dbtRunner().invoke(full_args)
    if result.success:
        return
    failures: list[str] = []
    for node_result in getattr(result.result, "results", None) or []:
        if str(node_result.status) not in ("success", "pass", "skipped", "warn"):
            failures.append(
                f"{node_result.node.unique_id}: {node_result.status}: {node_result.message}"
            )
    exc = result.exception
    detail = "\n".join(failures) or f"{type(exc).__name__}: {exc}"
    raise DbtCommandError(f"dbt {' '.join(args)} failed:\n{detail}")


def has_incremental_models(target_path: Path) -> bool:
    manifest = json.loads((target_path / "manifest.json").read_text())
    return any(
        node["resource_type"] == "model" and node["config"]["materialized"] == "incremental"
        for node in manifest["nodes"].values()
    )


@dataclass
class CompilePass:
    """One `dbt compile --target redshift` run and where its output went."""

    name: str  # "incremental" or "full-refresh"
    target_path: Path
    seconds: float


def compile_for_redshift(
    server: PgServer, work_dir: Path, *, database: str = STANDIN_DATABASE
) -> list[CompilePass]:
    """Build the stand-in, then compile for Redshift twice (incremental and full refresh)."""
    prepare_standin(server, database)
    project_dir = copy_project_for_standin(work_dir)
    passes: list[CompilePass] = []
    with (
        RedshiftWireShim(server.host, server.port) as shim,
        patched_env(standin_env(server, shim.port, database)),
    ):
        started = time.perf_counter()
        # Zero-row relations with the postgres target (the raw tables are empty), in the
        # schemas the redshift target uses, so incremental models exist when the redshift
        # target looks them up. Not `--empty`: it rewrites source() into an aliased
        # subquery, which models that alias their source cannot follow.
        run_dbt(
            [
                "build",
                "--target",
                "postgres",
                "--exclude-resource-type",
                "test",
                "--exclude-resource-type",
                "unit_test",
            ],
            project_dir=project_dir,
            work_dir=work_dir,
            target_path=work_dir / "target-postgres-standin",
        )
        log.info("stand-in relations built in %.1fs", time.perf_counter() - started)
        for name, extra in (("incremental", []), ("full-refresh", ["--full-refresh"])):
            if passes and not has_incremental_models(passes[0].target_path):
                log.info("no incremental models: the --full-refresh pass would compile the same")
                break
            started = time.perf_counter()
            target_path = work_dir / f"target-redshift-{name}"
            run_dbt(
                ["compile", "--target", "redshift", *extra],
                project_dir=project_dir,
                work_dir=work_dir,
                target_path=target_path,
            )
            passes.append(CompilePass(name, target_path, time.perf_counter() - started))
    return passes


# --- parsing what was compiled ----------------------------------------------------------


@dataclass
class ParsedNode:
    unique_id: str
    resource_type: str
    statements: int


@dataclass
class ParseReport:
    """What one compile pass produced and how it parsed."""

    nodes: list[ParsedNode] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def statements(self) -> int:
        return sum(node.statements for node in self.nodes)

    def by_type(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for node in self.nodes:
            counts[node.resource_type] = counts.get(node.resource_type, 0) + 1
        return counts


def compiled_nodes(target_path: Path) -> list[dict]:
    """The manifest entries of the nodes the pass compiled (from its run_results.json)."""
    manifest = json.loads((target_path / "manifest.json").read_text())
    run_results = json.loads((target_path / "run_results.json").read_text())
    compiled_ids = {result["unique_id"] for result in run_results["results"]}
    # dbt compile lists seeds among its results too, but a seed has no SQL to compile.
    return [
        manifest["nodes"][unique_id]
        for unique_id in sorted(compiled_ids)
        if manifest["nodes"][unique_id]["resource_type"] in COMPILED_RESOURCE_TYPES
    ]


def expected_node_ids(target_path: Path) -> set[str]:
    """Every node of the project dbt compile should have compiled."""
    manifest = json.loads((target_path / "manifest.json").read_text())
    return {
        unique_id
        for unique_id, node in manifest["nodes"].items()
        if node["package_name"] == PROJECT_NAME and node["resource_type"] in COMPILED_RESOURCE_TYPES
    }


def compiled_file(target_path: Path, node: dict) -> Path:
    """Where dbt writes a node's compiled SQL (mirrors dbt's get_target_write_path)."""
    original = node["original_file_path"]
    if Path(node["path"]).name == Path(original).name:
        relative = original  # one node per file: models, snapshots, singular tests
    else:
        relative = f"{original}/{node['path']}"  # generic tests live under their YAML file
    return target_path / "compiled" / node["package_name"] / relative


def parse_redshift(sql: str) -> list[exp.Expression]:
    """Parse SQL in sqlglot's Redshift dialect; raise on anything it cannot parse."""
    parsed = sqlglot.parse(sql, read="redshift", error_level=ErrorLevel.RAISE)
    statements = [statement for statement in parsed if statement is not None]
    for statement in statements:
        # Regenerating in the same dialect raises on constructs sqlglot knows Redshift lacks.
        statement.sql(dialect="redshift", unsupported_level=ErrorLevel.RAISE)
    return statements


# sqlglot's Redshift parser accepts much that Redshift refuses (it reads any unknown
# name(...) as a function, and DuckDB or PostgreSQL syntax alike), so parsing alone would
# let engine-specific SQL through. These lists come from the Redshift Database Developer
# Guide: "Unsupported PostgreSQL functions", "Unsupported PostgreSQL data types" and
# "Leader node-only functions" (those fail once a query reads a user table).
UNSUPPORTED_FUNCTIONS = frozenset(
    {
        # aggregates
        "string_agg", "array_agg", "every", "xmlagg", "corr", "covar_pop", "covar_samp",
        "regr_avgx", "regr_avgy", "regr_count", "regr_intercept", "regr_r2", "regr_slope",
        "regr_sxx", "regr_sxy", "regr_syy",
        # date/time, math, set-returning, string
        "clock_timestamp", "justify_days", "justify_hours", "justify_interval", "pg_sleep",
        "transaction_timestamp", "div", "setseed", "width_bucket", "generate_series",
        "generate_subscripts", "bit_length", "overlay", "convert_from", "convert_to",
        # leader-node only, deprecated: use getdate()/sysdate (dbt.current_timestamp())
        "now", "age", "isfinite", "to_ascii", "current_schemas", "has_table_privilege",
    }
)  # fmt: skip
# DuckDB spellings sqlglot maps onto functions it knows (so they parse as if portable);
# Redshift has none of them (datediff/dateadd, to_char, regexp_substr, split_part instead).
DUCKDB_ONLY_FUNCTIONS = frozenset(
    {
        "date_diff", "date_sub", "strftime", "strptime", "epoch", "epoch_ms", "make_date",
        "make_timestamp", "today", "regexp_matches", "regexp_extract", "string_split",
        "str_split", "list_value", "iif",
    }
)  # fmt: skip
# Keywords that are leader-node-only functions in Redshift.
LEADER_NODE_KEYWORDS = frozenset({"current_timestamp", "current_time", "localtime"})
# Syntax sqlglot parses in the Redshift dialect that Redshift does not accept.
UNSUPPORTED_SYNTAX: dict[type[exp.Expression], str] = {
    exp.NullSafeEQ: "IS NOT DISTINCT FROM",
    exp.NullSafeNEQ: "IS DISTINCT FROM",
    exp.Filter: "aggregate FILTER (WHERE ...)",
    exp.Array: "array literal",
    exp.Struct: "struct literal",
    exp.Lambda: "lambda",
    exp.IntDiv: "integer division operator //",
}
# Data types a Redshift column can have (its CREATE TABLE reference); cast targets
# outside this set are PostgreSQL- or DuckDB-only (hugeint, uuid, json, list types...).
REDSHIFT_TYPES = frozenset(
    {
        exp.DataType.Type.SMALLINT, exp.DataType.Type.INT, exp.DataType.Type.BIGINT,
        exp.DataType.Type.DECIMAL, exp.DataType.Type.FLOAT, exp.DataType.Type.DOUBLE,
        exp.DataType.Type.BOOLEAN, exp.DataType.Type.CHAR, exp.DataType.Type.NCHAR,
        exp.DataType.Type.BPCHAR, exp.DataType.Type.VARCHAR, exp.DataType.Type.NVARCHAR,
        exp.DataType.Type.TEXT, exp.DataType.Type.DATE, exp.DataType.Type.TIME,
        exp.DataType.Type.TIMETZ, exp.DataType.Type.TIMESTAMP, exp.DataType.Type.TIMESTAMPTZ,
        exp.DataType.Type.INTERVAL, exp.DataType.Type.VARBINARY, exp.DataType.Type.GEOMETRY,
        exp.DataType.Type.GEOGRAPHY, exp.DataType.Type.SUPER,
    }
)  # fmt: skip
# Functions sqlglot does not know (it parses them as Anonymous) that are Redshift
# functions; anything else unknown is reported, so a DuckDB-only name cannot slip through.
KNOWN_REDSHIFT_FUNCTIONS_UNKNOWN_TO_SQLGLOT: frozenset[str] = frozenset()


def redshift_portability_problems(sql: str, statements: Sequence[exp.Expression]) -> list[str]:
    """Constructs in parsed Redshift SQL that Redshift does not run, each described."""
    problems: list[str] = []
    tokens = sqlglot.tokenize(sql, read="redshift")
    for previous, token, following in zip(
        [None, *tokens[:-1]], tokens, [*tokens[1:], None], strict=True
    ):
        name = token.text.lower()
        is_call = following is not None and following.token_type.name == "L_PAREN"
        is_alias = previous is not None and previous.token_type.name == "ALIAS"
        if is_call and name in UNSUPPORTED_FUNCTIONS | DUCKDB_ONLY_FUNCTIONS:
            problems.append(f"line {token.line}: {name}() is not supported by Redshift")
        elif name in LEADER_NODE_KEYWORDS and token.token_type.name != "VAR" and not is_alias:
            problems.append(
                f"line {token.line}: {name} is leader-node only on Redshift "
                "(use dbt.current_timestamp())"
            )
    for statement in statements:
        for node in statement.walk():
            if isinstance(node, exp.Anonymous):
                name = node.name.lower()
                reported = UNSUPPORTED_FUNCTIONS | DUCKDB_ONLY_FUNCTIONS  # by the token scan
                if name not in KNOWN_REDSHIFT_FUNCTIONS_UNKNOWN_TO_SQLGLOT | reported:
                    problems.append(f"{name}(): not a function known to run on Redshift")
            elif type(node) in UNSUPPORTED_SYNTAX:
                problems.append(f"{UNSUPPORTED_SYNTAX[type(node)]}: not supported by Redshift")
            elif isinstance(node, exp.DataType) and node.this not in REDSHIFT_TYPES:
                problems.append(f"type {node.sql('redshift')}: not a Redshift data type")
            elif isinstance(node, exp.Distinct) and node.args.get("on"):
                problems.append("DISTINCT ON: not supported by Redshift")
            elif isinstance(node, exp.Group) and node.args.get("all"):
                problems.append("GROUP BY ALL: not supported by Redshift")
            elif isinstance(node, exp.Star) and node.args.get("replace"):
                # SELECT * EXCLUDE is Redshift syntax too; REPLACE is DuckDB's only.
                problems.append("SELECT * REPLACE: not supported by Redshift")
    return problems


def parse_compiled(target_path: Path) -> ParseReport:
    """Parse every compiled node of a pass; the report lists each failure with its node.

    The SQL comes from the manifest (YAML-defined snapshots get no file under compiled/);
    where dbt wrote a file, it must hold the same SQL.
    """
    report = ParseReport()
    for node in compiled_nodes(target_path):
        unique_id = node["unique_id"]
        sql = node.get("compiled_code")
        if not sql:
            report.errors.append(f"{unique_id}: no compiled SQL in the manifest")
            continue
        path = compiled_file(target_path, node)
        if path.is_file() and path.read_text() != sql:
            report.errors.append(f"{unique_id}: {path} differs from the manifest's compiled SQL")
        where = f"{unique_id} ({node['original_file_path']})"
        try:
            statements = parse_redshift(sql)
        except sqlglot.errors.SqlglotError as exc:
            report.errors.append(f"{where}: {exc}")
            continue
        report.errors += [f"{where}: {p}" for p in redshift_portability_problems(sql, statements)]
        if len(statements) != 1:
            report.errors.append(f"{unique_id}: {len(statements)} statements, expected 1")
        report.nodes.append(ParsedNode(unique_id, node["resource_type"], len(statements)))
    return report


# --- command line -----------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work-dir", type=Path, default=None, help="default: a temporary folder")
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO, format="%(message)s")
    work_dir = args.work_dir or Path(tempfile.mkdtemp(prefix="olist-redshift-compile-"))
    started = time.perf_counter()
    with devserver.running(auth="md5") as server:
        passes = compile_for_redshift(server, work_dir)
    failed = False
    for compile_pass in passes:
        report = parse_compiled(compile_pass.target_path)
        print(
            f"{compile_pass.name}: compiled in {compile_pass.seconds:.1f}s, "
            f"{report.statements} statements parsed as Redshift from {len(report.nodes)} nodes "
            f"{report.by_type()}"
        )
        for error in report.errors:
            print(f"  ERROR {error}")
        failed = failed or bool(report.errors)
    print(f"total {time.perf_counter() - started:.1f}s; output in {work_dir}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
