"""The project compiles for Redshift and its SQL is Redshift SQL, checked without a cluster.

How the compile works without a cluster is explained in redshift_compile.py. Every
compiled model, data test and snapshot (incremental branch, and the --full-refresh branch
when there are incremental models) is parsed with sqlglot in the Redshift dialect and
screened for constructs Redshift refuses; sqlfluff parses the models as Redshift too.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import psycopg2
import pytest
import sqlglot
from sqlfluff.core import FluffConfig, Linter

from olist_elt.dev import postgres as devserver
from pg_server import _ensure_binaries
from redshift_compile import (
    PROJECT_NAME,
    PROJECT_ROOT,
    STANDIN_DATABASE,
    CompilePass,
    _postgres_startup_params,
    compile_for_redshift,
    compiled_nodes,
    expected_node_ids,
    parse_compiled,
    parse_redshift,
    redshift_portability_problems,
)

log = logging.getLogger(__name__)

SQLFLUFF = Path(sys.executable).with_name("sqlfluff")

# Redshift distribution styles that name no column.
DIST_STYLES = {"all", "even", "auto"}


@pytest.fixture(scope="module")
def standin(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[devserver.PgServer, dict[str, CompilePass]]]:
    """The two Redshift compile passes, with the stand-in server still up for lookups."""
    _ensure_binaries()
    work_dir = tmp_path_factory.mktemp("redshift_compile")
    # md5 logins: redshift_connector's SCRAM exchange does not work against PostgreSQL.
    with devserver.running(auth="md5") as server:
        passes = compile_for_redshift(server, work_dir)
        yield server, {compile_pass.name: compile_pass for compile_pass in passes}


@pytest.fixture(scope="module")
def passes(
    standin: tuple[devserver.PgServer, dict[str, CompilePass]],
) -> dict[str, CompilePass]:
    return standin[1]


@pytest.mark.slow
@pytest.mark.parametrize("pass_name", ["incremental", "full-refresh"])
def test_every_compiled_node_parses_as_redshift(
    passes: dict[str, CompilePass], pass_name: str
) -> None:
    if pass_name not in passes:
        pytest.skip("no incremental models, so no separate --full-refresh compile")
    compile_pass = passes[pass_name]
    report = parse_compiled(compile_pass.target_path)
    assert not report.errors, "compiled SQL that is not Redshift SQL:\n" + "\n".join(report.errors)

    compiled_ids = {node.unique_id for node in report.nodes}
    expected_ids = expected_node_ids(compile_pass.target_path)
    assert compiled_ids == expected_ids, (
        f"compiled but not expected: {sorted(compiled_ids - expected_ids)}; "
        f"expected but not compiled: {sorted(expected_ids - compiled_ids)}"
    )
    counts = report.by_type()
    assert report.statements == len(report.nodes) > 0
    assert counts.get("model", 0) > 0, counts
    assert counts.get("test", 0) > 0, counts
    manifest = json.loads((compile_pass.target_path / "manifest.json").read_text())
    snapshots = [n for n in manifest["nodes"].values() if n["resource_type"] == "snapshot"]
    assert counts.get("snapshot", 0) == len(snapshots), counts
    log.info(
        "redshift %s pass: %d statements parsed (%s), compiled in %.1fs",
        pass_name,
        report.statements,
        counts,
        compile_pass.seconds,
    )


@pytest.mark.slow
def test_incremental_models_compile_both_branches(passes: dict[str, CompilePass]) -> None:
    """With the relation present, is_incremental() is true; with --full-refresh, false."""
    incremental = {
        node["unique_id"]: node["compiled_code"]
        for node in compiled_nodes(passes["incremental"].target_path)
        if node["resource_type"] == "model" and node["config"]["materialized"] == "incremental"
    }
    if not incremental:
        pytest.skip("the project has no incremental models")
    assert "full-refresh" in passes, "incremental models but no --full-refresh compile"
    full = {
        node["unique_id"]: node["compiled_code"]
        for node in compiled_nodes(passes["full-refresh"].target_path)
    }
    same = [unique_id for unique_id, sql in incremental.items() if full[unique_id] == sql]
    assert not same, f"incremental models whose two branches compiled alike: {same}"


@pytest.mark.slow
def test_redshift_dist_and_sort_keys_name_real_columns(
    standin: tuple[devserver.PgServer, dict[str, CompilePass]],
) -> None:
    """A distkey or sortkey on a missing column fails only at `create table` on Redshift."""
    server, passes = standin
    manifest = json.loads((passes["incremental"].target_path / "manifest.json").read_text())
    connection = psycopg2.connect(server.dsn(STANDIN_DATABASE))
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                "select table_schema, table_name, column_name from information_schema.columns"
            )
            columns: dict[tuple[str, str], set[str]] = {}
            for schema, table, column in cursor.fetchall():
                columns.setdefault((schema, table), set()).add(column)
    finally:
        connection.close()

    problems: list[str] = []
    keyed = 0
    for node in manifest["nodes"].values():
        if node["resource_type"] != "model" or node["package_name"] != PROJECT_NAME:
            continue
        config = node["config"]
        dist = config.get("dist")
        sort = config.get("sort")
        if dist is None and sort is None:
            continue
        keyed += 1
        if config["materialized"] not in ("table", "incremental"):
            problems.append(f"{node['name']}: dist/sort on a {config['materialized']}")
        relation_columns = columns.get((node["schema"], node["alias"]), set())
        wanted = [] if dist is None or dist.lower() in DIST_STYLES else [dist]
        wanted += [sort] if isinstance(sort, str) else list(sort or [])
        for column in wanted:
            if column not in relation_columns:
                problems.append(
                    f"{node['name']}: key column {column!r} not among its columns "
                    f"{sorted(relation_columns)}"
                )
        if config.get("sort_type") not in (None, "compound", "interleaved"):
            problems.append(f"{node['name']}: sort_type {config['sort_type']!r}")
    assert keyed > 0, "no model sets a Redshift dist or sort key"
    assert not problems, "\n".join(problems)


@pytest.mark.slow
def test_sqlfluff_parses_compiled_models_as_redshift(passes: dict[str, CompilePass]) -> None:
    """A second, independent Redshift grammar over the SQL dbt produced for Redshift."""
    linter = Linter(config=FluffConfig(overrides={"dialect": "redshift", "templater": "raw"}))
    problems: list[str] = []
    models = 0
    for compile_pass in passes.values():
        for node in compiled_nodes(compile_pass.target_path):
            if node["resource_type"] != "model":
                continue
            models += 1
            parsed = linter.parse_string(node["compiled_code"], fname=node["original_file_path"])
            for violation in parsed.violations:
                problems.append(f"{compile_pass.name} {node['unique_id']}: {violation.desc()}")
            if parsed.tree is not None:
                for segment in parsed.tree.recursive_crawl("unparsable"):
                    problems.append(
                        f"{compile_pass.name} {node['unique_id']}: unparsable at line "
                        f"{segment.pos_marker.line_no}: {segment.raw[:80]!r}"
                    )
    assert models > 0
    assert not problems, "\n".join(problems)


def _unparsable(tree: object, path: str = "") -> list[str]:
    """Paths of every "unparsable" segment in sqlfluff's JSON parse tree."""
    found: list[str] = []
    if isinstance(tree, dict):
        for key, value in tree.items():
            if key == "unparsable":
                found.append(f"{path}/unparsable: {json.dumps(value)[:120]}")
            found += _unparsable(value, f"{path}/{key}")
    elif isinstance(tree, list):
        for item in tree:
            found += _unparsable(item, path)
    return found


# The whole project through sqlfluff: as long as `make lint`, so not in the fast tier.
@pytest.mark.slow
def test_sqlfluff_parses_model_sources_as_redshift() -> None:
    """The model files themselves, through the project's .sqlfluff (jinja templater).

    In a child process: the templater imports .sqlfluff's library_path modules, one of
    them named `dbt`, into sys.modules, where it would hide the real dbt package from
    every later test that runs dbt in-process.
    """
    files = sorted(
        str(p.relative_to(PROJECT_ROOT)) for p in (PROJECT_ROOT / "models").rglob("*.sql")
    )
    assert files, "no model files"
    result = subprocess.run(
        [str(SQLFLUFF), "parse", "--dialect", "redshift", "--format", "json", "models"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    parsed = {entry["filepath"]: entry["segments"] for entry in json.loads(result.stdout or "[]")}
    problems = [f"{name}: not parsed" for name in files if parsed.get(name) is None]
    for name, tree in parsed.items():
        problems += [f"{name}: {where}" for where in _unparsable(tree)]
    assert not problems, "\n".join(problems) + f"\n{result.stderr[-2000:]}"
    assert result.returncode == 0, result.stderr[-3000:]


# --- the screen itself must catch what it claims to catch ----------------------------------


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("select string_agg(a, ',') from t", "string_agg()"),
        ("select generate_series(1, 3)", "generate_series()"),
        ("select now() from t", "now()"),
        ("select current_timestamp from t", "leader-node only"),
        ("select date_diff('day', a, b) from t", "date_diff()"),
        ("select list_agg(a) from t", "list_agg()"),
        ("select cast(a as hugeint) from t", "not a Redshift data type"),
        ("select a is distinct from b from t", "IS DISTINCT FROM"),
        ("select count(*) filter (where a) from t", "FILTER"),
        ("select [1, 2]", "array literal"),
        ("select a from t group by all", "GROUP BY ALL"),
        ("select * replace (a as b) from t", "REPLACE"),
        ("select distinct on (a) a, b from t order by a, b", "DISTINCT ON"),
    ],
)
def test_portability_screen_flags_non_redshift_sql(sql: str, expected: str) -> None:
    problems = redshift_portability_problems(sql, parse_redshift(sql))
    assert any(expected in problem for problem in problems), problems


def test_portability_screen_accepts_redshift_sql() -> None:
    sql = """
        select
            datediff(day, a, b) as days_between,
            dateadd(month, 1, a) as next_month,
            getdate() as loaded_at,
            cast(x as varchar(65535)) as x_text,
            cast(y as numeric(12, 2)) as y_brl,
            listagg(z, ',') within group (order by z) as zs,
            row_number() over (partition by a order by b) as row_number_,
            y as current_time
        from t
        qualify row_number_ = 1
    """
    assert redshift_portability_problems(sql, parse_redshift(sql)) == []


def test_unparsable_sql_is_an_error() -> None:
    with pytest.raises(sqlglot.errors.ParseError):
        parse_redshift("select a // from t")


def test_shim_drops_redshift_startup_parameters() -> None:
    payload = (
        b"user\x00olist\x00database\x00dev\x00client_protocol_version\x002\x00"
        b"driver_version\x00x\x00application_name\x00dbt\x00\x00"
    )
    kept = _postgres_startup_params(payload)
    assert kept == b"user\x00olist\x00database\x00dev\x00application_name\x00dbt\x00\x00"
