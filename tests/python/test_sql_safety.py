"""Identifiers reach SQL only quoted by ``sql.ident``; values only as ``sql.literal`` literals.

The loader renders its statements as text (so --dry-run prints exactly what runs), so
the rule is enforced two ways:

- statically: in the modules that build SQL, no f-string that builds a statement puts
  a value between hand-written quotes (``'{x}'``) or through ``!r``/format specs: every
  interpolation goes through ident / qualified / literal (or a fragment built by them);
- by running the loader with hostile names: a schema name and a source path made of
  quotes, semicolons and SQL, on DuckDB and PostgreSQL. The load works, the names land
  as data (lineage, audit), and a sentinel table survives.

Table and column names come only from the spec: a file's header is compared with the
spec and never used as SQL (the bad-input catalogue loads a header with SQL in it).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from fault_harness import Warehouse
from loader_files import write_set
from olist_elt.load.sql import ident, literal, qualified
from olist_elt.spec import OLIST_FILES

pytestmark = pytest.mark.faults

LOADER = Path(__file__).resolve().parents[2] / "loaders" / "olist_elt"
SQL_MODULES = [
    LOADER / "load" / "audit.py",
    LOADER / "load" / "loader.py",
    LOADER / "daily" / "drop_load.py",
    *sorted((LOADER / "load" / "targets").glob("*.py")),
    LOADER / "ops" / "roles.py",
    LOADER / "review" / "diff.py",
]
STATEMENT = re.compile(
    r"^\s*(select|insert|create|alter|copy|delete|update|drop|truncate|analyze|set|"
    r"from|where|and|or|order|group|having|values|read_csv|\)|left join|limit)\b",
    re.IGNORECASE,
)


def sql_fstrings(path: Path) -> list[ast.JoinedStr]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.JoinedStr):
            first = node.values[0]
            text = first.value if isinstance(first, ast.Constant) else ""
            if STATEMENT.match(str(text)) or "read_csv(" in str(text):
                found.append(node)
    return found


def test_sql_is_built_with_quoting_helpers_only() -> None:
    offenders, checked = [], 0
    for path in SQL_MODULES:
        for node in sql_fstrings(path):
            checked += 1
            values = node.values
            for index, value in enumerate(values):
                if not isinstance(value, ast.FormattedValue):
                    continue
                before = values[index - 1] if index else None
                after = values[index + 1] if index + 1 < len(values) else None
                quoted = (
                    isinstance(before, ast.Constant)
                    and str(before.value).endswith(("'", '"'))
                    and isinstance(after, ast.Constant)
                    and str(after.value).startswith(("'", '"'))
                )
                if quoted or value.conversion != -1 or value.format_spec is not None:
                    offenders.append(f"{path.name}:{node.lineno}: {ast.unparse(value.value)}")
    assert checked > 40, checked  # the scan does see the statements
    assert offenders == [], offenders


def test_no_driver_formats_sql() -> None:
    """No %-formatting or str.format of SQL text anywhere in the loader."""
    pattern = re.compile(r"""(execute|_run|_bookkeeping)\([^)]*("|')\s*%|\.format\(""")
    hits = [
        f"{path.name}:{number}"
        for path in SQL_MODULES
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if pattern.search(line)
    ]
    assert hits == []


@pytest.mark.parametrize(
    "name",
    ['raw"; drop table public.sentinel; --', "select", "Mixed Case", "o'reilly", "a\\b"],
)
def test_ident_and_literal_round_trip(name: str) -> None:
    import duckdb

    with duckdb.connect() as connection:
        connection.execute(f"create schema {ident(name)}")
        connection.execute(f"create table {qualified(name, name)} (v varchar)")
        connection.execute(f"insert into {qualified(name, name)} values ({literal(name)})")
        assert connection.execute(f"select v from {qualified(name, name)}").fetchall() == [(name,)]


HOSTILE_SCHEMA = 'raw"; drop table public.sentinel; --'
HOSTILE_FOLDER = "o'k\"; drop table public.sentinel; -- \\x"


def test_hostile_schema_and_path_stay_data(engine_warehouse: Warehouse, tmp_path: Path) -> None:
    wh = engine_warehouse
    source = tmp_path / HOSTILE_FOLDER
    write_set(source, count=2)
    setup = "create table public.sentinel (v int)"
    if wh.engine == "duckdb":
        import duckdb

        assert wh.database is not None
        wh.database.parent.mkdir(parents=True, exist_ok=True)
        with duckdb.connect(str(wh.database)) as connection:
            connection.execute("create schema if not exists public")
            connection.execute(setup)
    else:
        wh.query(setup)
    report = wh.load(str(source), schema=HOSTILE_SCHEMA)
    assert report.ok, [t.error for t in report.tables if t.error]
    with wh.reading():
        assert wh.query("select count(*) from public.sentinel") == [(0,)]
        for spec in OLIST_FILES:
            files = wh.query(
                f"select distinct _source_file from {qualified(HOSTILE_SCHEMA, spec.table)}"
            )
            assert files == [(str(source / spec.file_name),)]
        audit = wh.query(
            f"select source_uri from {qualified(HOSTILE_SCHEMA, '_load_runs')} "
            f"where table_name = {literal('*')}"
        )
    assert audit == [(str(source),)]
    again = wh.load(str(source), schema=HOSTILE_SCHEMA)  # the audit lookups work too
    assert again.count("skipped") == len(OLIST_FILES)
