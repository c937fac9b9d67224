"""`olist`: one command, shared options read once into Settings, one-line errors, old names."""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from datetime import date
from pathlib import Path

import pytest

from olist_elt import cli
from olist_elt.cli import build_parser, main, settings_from
from olist_elt.settings import PROJECT_ROOT, Settings
from olist_elt.spec import DEFAULT_RAW_SCHEMA

BIN = Path(sys.executable).parent
SHARED = {
    "target": ("--target", "OLIST_TARGET", None),
    "profiles_dir": ("--profiles-dir", "DBT_PROFILES_DIR", None),
    "raw_schema": ("--schema", "OLIST_RAW_SCHEMA", DEFAULT_RAW_SCHEMA),
    "endpoint_url": ("--endpoint-url", "AWS_ENDPOINT_URL", None),
    "project_dir": ("--project-dir", "OLIST_PROJECT_DIR", PROJECT_ROOT),
}


@pytest.mark.parametrize("field", sorted(SHARED))
def test_option_over_environment_over_default(field: str) -> None:
    _, variable, default = SHARED[field]
    value = "/from/option" if field == "project_dir" else "from_option"
    expected_option = Path(value) if field == "project_dir" else value
    expected_env = Path("/from/env") if field == "project_dir" else "/from/env"
    environ = {variable: "/from/env"}
    assert getattr(Settings.resolve({field: value}, environ), field) == expected_option
    assert getattr(Settings.resolve({field: None}, environ), field) == expected_env
    assert getattr(Settings.resolve({}, {}), field) == default
    # an empty variable counts as not set
    assert getattr(Settings.resolve({}, {variable: ""}), field) == default


def test_the_command_line_feeds_the_same_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every subcommand with --schema reads it, and OLIST_RAW_SCHEMA when it is absent."""
    parser, _ = build_parser()
    monkeypatch.setenv("OLIST_RAW_SCHEMA", "from_env")
    lines = {
        "run": ["run"],
        "load": ["load", "data"],
        "daily": ["daily", "--drops", "d", "--date", "2018-08-01"],
        "olist history load": ["history", "load", "folder"],
    }
    for name, argv in lines.items():
        assert settings_from(parser.parse_args([*argv, "--schema", "x"])).raw_schema == "x", name
        assert settings_from(parser.parse_args(argv)).raw_schema == "from_env", name
    args = parser.parse_args(["daily", "--drops", "d", "--date", "2018-08-01", "--date",
                              "2018-08-02", "--target", "postgres"])  # fmt: skip
    settings = settings_from(args)
    assert settings.dates == (date(2018, 8, 1), date(2018, 8, 2))
    assert settings.target == "postgres"


def test_settings_become_the_dbt_options() -> None:
    settings = Settings.resolve(
        {"raw_schema": "raw_x", "target": "postgres", "profiles_dir": "/p"}, {}
    )
    args = settings.dbt_args({"incremental_lookback_days": 0})
    assert args[args.index("--target") + 1] == "postgres"
    assert args[args.index("--profiles-dir") + 1] == "/p"
    assert args[args.index("--project-dir") + 1] == str(PROJECT_ROOT)
    dbt_vars = json.loads(args[args.index("--vars") + 1])
    assert dbt_vars == {
        "olist_raw_schema": "raw_x",
        "olist_environment": "production",
        "incremental_lookback_days": 0,
    }
    assert settings.load_options()["schema"] == "raw_x"


def test_the_daily_dbt_session_carries_the_raw_schema() -> None:
    from olist_elt.daily.run import DbtSession

    session = DbtSession(Settings.resolve({"raw_schema": "raw_y", "target": "t"}, {}))
    assert json.loads(session.common[session.common.index("--vars") + 1]) == {
        "olist_raw_schema": "raw_y",
        "olist_environment": "production",
    }
    assert session.common[session.common.index("--target") + 1] == "t"


def test_help_lists_every_subcommand_with_an_example(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["--help"]) == 0
    listing = capsys.readouterr().out
    _, commands = build_parser()
    subcommands = [name for name in commands if " " not in name]
    assert sorted(subcommands) == sorted(cli.SUBCOMMANDS)
    for name in subcommands:
        assert f"\n  {name} " in listing, name
        assert f"olist {name}" in listing, name  # its example
        assert main([name, "--help"]) == 0
        assert "example:\n  olist " + name in capsys.readouterr().out, name


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["run", "--scale", "x"], "olist run: error: --scale: expected a positive number, got 'x'"),
        (["generate", "--scale", "0", "--out", "o"],
         "olist generate: error: --scale: expected a positive number, got '0'"),
        (["run", "--seed", "1.5"], "olist run: error: --seed: expected a whole number, got '1.5'"),
        (["run", "--bogus"], "olist run: error: unrecognized option --bogus"),
        (["load", "src", "--lock-wait", "-1"],
         "olist load: error: --lock-wait: expected a number >= 0, got '-1'"),
        (["daily", "--drops", "d", "--date", "2018-8-1"],
         "olist daily: error: --date: not a date: '2018-8-1' (expected YYYY-MM-DD)"),
        (["daily", "--drops", "d", "--from", "2018-08-02", "--to", "2018-08-01"],
         "olist daily: error: --from 2018-08-02 is after --to 2018-08-01"),
        (["pg", "up", "--port", "70000"],
         "olist pg: error: --port: expected a port from 1 to 65535, got '70000'"),
        (["history", "load"], "olist history load: error: the following arguments are required: "
                              "FOLDER"),
        (["nope"], "olist: error: SUBCOMMAND: invalid choice: 'nope' (choose from 'run', 'load', "
                   "'generate', 'replay', 'daily', 'history', 'diff', 'dashboards', 'roles', "
                   "'pg')"),
        ([], "olist: error: give a subcommand (olist --help lists them)"),
    ],
)  # fmt: skip
def test_a_bad_option_is_one_line_naming_it(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.err == message + "\n"
    assert captured.out == ""


@pytest.mark.slow  # starts the installed scripts, olist-run among them
def test_the_console_scripts_and_the_old_names(tmp_path: Path) -> None:
    scripts = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["olist"] == "olist_elt.cli:main"
    for old in ("load", "generate", "run", "replay", "daily"):
        assert scripts[f"olist-{old}"] == f"olist_elt.cli:{old}_alias"

    new = subprocess.run(
        [str(BIN / "olist"), "generate", "--scale", "0.002", "--out", str(tmp_path / "new")],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert new.returncode == 0, new.stderr
    assert "deprecated" not in new.stderr
    old = subprocess.run(
        [str(BIN / "olist-generate"), "--scale", "0.002", "--out", str(tmp_path / "old")],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert old.returncode == 0, old.stderr
    assert old.stderr.splitlines()[0] == (
        "olist-generate is deprecated and goes in the next release: use `olist generate` "
        "(same arguments)"
    )
    assert old.stdout.splitlines()[-1].split()[:2] == new.stdout.splitlines()[-1].split()[:2]
    for name in ("olist-generate", "olist-run"):
        wrong = subprocess.run(
            [str(BIN / name), "--scale", "x"], capture_output=True, text=True, check=False
        )
        assert wrong.returncode == 2
        assert wrong.stderr.splitlines()[1:] == [
            f"olist {name.removeprefix('olist-')}: error: --scale: expected a positive number, "
            "got 'x'"
        ]


@pytest.mark.slow  # starts python -m olist_elt pg
def test_python_dash_m_is_olist(capsys: pytest.CaptureFixture[str]) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "olist_elt", "pg", "sideways"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 2
    assert done.stderr == (
        "olist pg: error: action: invalid choice: 'sideways' (choose from 'up', 'env', 'down')\n"
    )


def test_no_other_module_parses_arguments() -> None:
    package = PROJECT_ROOT / "loaders" / "olist_elt"
    parsing = sorted(
        str(path.relative_to(package))
        for path in package.rglob("*.py")
        if "argparse" in path.read_text(encoding="utf-8")
    )
    assert parsing == ["cli.py"]
