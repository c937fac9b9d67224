"""Lint configuration: .sqlfluff enforces the SQL conventions, the project is lint clean,
and the pre-commit hooks (local ones, nothing fetched) run and catch a bad file."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

from dbt_cli import PROJECT_ROOT

BIN = Path(sys.executable).parent


def makefile_paths(variable: str) -> list[str]:
    """The folders a Makefile variable lists: `make lint` and these tests read the same ones."""
    text = (PROJECT_ROOT / "Makefile").read_text()
    found = re.search(rf"^{variable}\s*:=(.*)$", text, flags=re.MULTILINE)
    assert found, f"Makefile: no `{variable} :=` line"
    return found.group(1).split()


SQL_PATHS = makefile_paths("SQL_PATHS")
PY_PATHS = makefile_paths("PY_PATHS")

GOOD_MODEL = textwrap.dedent(
    """\
    -- grain: one row per order item (order_id, order_item_id)
    {{ config(materialized='incremental', unique_key='order_item_key') }}

    with

    order_items as (
        select * from {{ ref('stg_olist__order_items') }}
    ),

    orders as (
        select * from {{ source('olist', 'orders') }}
    ),

    joined as (
        select
            {{ dbt.hash(dbt.concat(['order_items.order_id', "'|'", 'order_items.item_id'])) }}
                as order_item_key,
            order_items.order_id,
            orders.customer_id,
            {{ dbt.safe_cast('orders.purchased_at', api.Column.translate_type('timestamp')) }}
                as purchased_at,
            {{ dbt.dateadd('day', 30, 'orders.purchased_at') }} as due_at,
            {{ dbt.dateadd('day', -1 * var('lookback_days', 3), 'orders.purchased_at') }}
                as lookback_start_at,
            coalesce(order_items.price_brl, 0) as price_brl
        from order_items
        left join orders
            on order_items.order_id = orders.order_id
        where
            orders.order_status <> 'canceled'
            {% if is_incremental() %}
                and orders.purchased_at > (select max(this.purchased_at) from {{ this }} as this)
            {% endif %}
    )

    select * from joined
    """
)

# One breach of each convention, with the rule that must report it.
BAD_MODEL = textwrap.dedent(
    """\
    WITH orders AS (
      select * from {{ ref('stg_olist__orders') }}
    ),

    customers as (
        select * from {{ ref('stg_olist__customers') }}
    ),

    joined as (
        select
            orders.order_id
            , Customers.customer_id
            , customer_state
            , COUNT(*) as count_items
        from orders
        join customers on orders.customer_id = customers.customer_id
        group by 1, 2, 3
    )

    select order_id, customer_id, customer_state, count_items, 'PADDING' as pad
    from joined
    """
).replace("PADDING", "a literal that runs past the line length limit" * 2)
BAD_MODEL_RULES = {
    "CP01",  # keywords lower case
    "CP02",  # identifiers lower case
    "CP03",  # functions lower case
    "LT02",  # 4-space indents
    "LT04",  # trailing commas
    "LT05",  # lines up to 100 characters
    "AM05",  # explicit join type
    "RF02",  # qualified columns when several tables are selected
    "CV13",  # the model ends with select * from <cte>
}

SINGULAR_TEST = textwrap.dedent(
    """\
    with

    totals as (
        select sum(price_brl) as total_brl from {{ ref('fct_order_items') }}
    )

    select totals.total_brl
    from totals
    where totals.total_brl <> 0
    """
)


def _sqlfluff(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "sqlfluff"), *args],
        cwd=PROJECT_ROOT,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def _violations(sql: str, as_file: str, dialect: str = "duckdb") -> list[dict[str, object]]:
    """Lint sql as if it were the project file as_file (its folder's config applies)."""
    result = _sqlfluff(
        "lint",
        "-",
        "--stdin-filename",
        as_file,
        "--dialect",
        dialect,
        "--format",
        "json",
        stdin=sql,
    )
    assert result.returncode in (0, 1), f"sqlfluff failed:\n{result.stderr[-3000:]}"
    files = json.loads(result.stdout)
    return [violation for file in files for violation in file["violations"]]


@pytest.mark.parametrize("dialect", ["duckdb", "postgres", "redshift"])
def test_a_model_written_to_the_conventions_lints_clean(dialect: str) -> None:
    violations = _violations(GOOD_MODEL, "models/marts/core/example.sql", dialect)
    assert violations == [], json.dumps(violations, indent=1)


def test_each_convention_breach_is_reported() -> None:
    codes = {v["code"] for v in _violations(BAD_MODEL, "models/marts/core/example.sql")}
    missing = BAD_MODEL_RULES - codes
    assert not missing, f"rules that did not fire: {sorted(missing)} (fired: {sorted(codes)})"


def test_a_model_must_list_its_columns_somewhere() -> None:
    """`select * from final` is the pattern, but final itself must not be a bare wildcard."""
    passthrough = textwrap.dedent(
        """\
        with

        orders as (
            select * from {{ ref('stg_olist__orders') }}
        ),

        final as (
            select * from orders
        )

        select * from final
        """
    )
    codes = {v["code"] for v in _violations(passthrough, "models/marts/core/example.sql")}
    assert codes == {"AM04"}, codes


def test_tests_may_end_with_a_filtering_select() -> None:
    assert _violations(SINGULAR_TEST, "tests/singular/example.sql") == []
    # The same text as a model breaks the `select * from final` rule.
    codes = {v["code"] for v in _violations(SINGULAR_TEST, "models/marts/core/example.sql")}
    assert "CV13" in codes


@pytest.mark.skipif(
    not (PROJECT_ROOT / ".git").exists(), reason="needs a git checkout to know what a clone gets"
)
def test_every_path_lint_and_dbt_read_is_in_git() -> None:
    """A clone has only what git tracks (no empty folders): a folder that exists here but
    not in git passes locally and breaks `make lint` or dbt on a fresh clone."""
    project = yaml.safe_load((PROJECT_ROOT / "dbt_project.yml").read_text())
    dbt_paths = [path for key, value in project.items() if key.endswith("-paths") for path in value]
    missing = [
        path
        for path in sorted({*SQL_PATHS, *PY_PATHS, *dbt_paths})
        if not subprocess.run(
            ["git", "ls-files", "--", path],
            cwd=PROJECT_ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    ]
    assert not missing, f"read by make lint or dbt but not tracked by git: {missing}"


# `make lint` (and so `make check`) runs the same sqlfluff over the project: slow tier only.
@pytest.mark.slow
def test_project_sql_lints_clean() -> None:
    result = _sqlfluff("lint", *SQL_PATHS, "--format", "json")
    assert result.returncode in (0, 1), f"sqlfluff failed:\n{result.stderr[-3000:]}"
    offences = [
        f"{file['filepath']}:{v['start_line_no']}: {v['code']} {v['description']}"
        for file in json.loads(result.stdout)
        for v in file["violations"]
    ]
    assert not offences, f"{len(offences)} SQL lint finding(s) (make fix):\n" + "\n".join(offences)


@pytest.mark.parametrize("command", [["check"], ["format", "--check"]], ids=["check", "format"])
def test_python_is_ruff_clean(command: list[str]) -> None:
    result = subprocess.run(
        [str(BIN / "ruff"), *command, *PY_PATHS],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, f"ruff {' '.join(command)}:\n{result.stdout[-5000:]}"


def _pre_commit(*args: str, cwd: Path, home: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "pre-commit"), *args],
        cwd=cwd,
        env={**os.environ, "PRE_COMMIT_HOME": str(home), "PRE_COMMIT_COLOR": "never"},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def test_pre_commit_config_is_valid(tmp_path: Path) -> None:
    config = PROJECT_ROOT / ".pre-commit-config.yaml"
    ok = _pre_commit("validate-config", str(config), cwd=PROJECT_ROOT, home=tmp_path)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    broken = tmp_path / "broken.yaml"
    broken.write_text(config.read_text().replace("language: system", "language: no-such-language"))
    rejected = _pre_commit("validate-config", str(broken), cwd=PROJECT_ROOT, home=tmp_path)
    assert rejected.returncode != 0, "validate-config accepted an unknown hook language"


@pytest.mark.skipif(shutil.which("git") is None, reason="pre-commit needs git")
def test_pre_commit_hooks_run_offline_and_catch_bad_files(tmp_path: Path) -> None:
    """In a scratch repository with the project's hook and lint configs: a clean tree
    passes, and a bad SQL file, bad YAML and unformatted Python each fail their hook."""
    repo = tmp_path / "repo"
    repo.mkdir()
    for name in (".pre-commit-config.yaml", ".sqlfluff", ".sqlfluffignore", "pyproject.toml"):
        shutil.copy2(PROJECT_ROOT / name, repo / name)
    shutil.copytree(
        PROJECT_ROOT / "tools", repo / "tools", ignore=shutil.ignore_patterns("node_modules")
    )
    (repo / "macros").mkdir()
    (repo / ".venv").symlink_to(Path(sys.executable).parents[1])
    (repo / "models").mkdir()
    (repo / "models" / "good.sql").write_text(GOOD_MODEL)
    (repo / "models" / "_models.yml").write_text("version: 2\nmodels:\n  - name: good\n")
    (repo / "loaders").mkdir()
    (repo / "loaders" / "ok.py").write_text('"""Fine."""\n\nVALUE = 1\n')
    home = tmp_path / "pre-commit-home"

    def run_all() -> subprocess.CompletedProcess[str]:
        subprocess.run(["git", "add", "-A"], cwd=repo, check=True, capture_output=True)
        return _pre_commit("run", "--all-files", cwd=repo, home=home)

    subprocess.run(["git", "init", "-q"], cwd=repo, check=True, capture_output=True)
    clean = run_all()
    assert clean.returncode == 0, f"hooks failed on a clean tree:\n{clean.stdout}{clean.stderr}"

    (repo / "models" / "bad.sql").write_text(BAD_MODEL)
    (repo / "models" / "bad.yml").write_text("models:\n  - name: [unclosed\n")
    (repo / "loaders" / "ugly.py").write_text("VALUE  =  {'a':1}\n")
    dirty = run_all()
    output = dirty.stdout + dirty.stderr
    assert dirty.returncode != 0, f"hooks passed on bad files:\n{output}"
    for expected in ("models/bad.sql", "models/bad.yml", "ruff format"):
        assert expected in output, f"{expected!r} not reported by the hooks:\n{output}"
