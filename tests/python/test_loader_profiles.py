"""Reading connection settings from the dbt profiles file."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from olist_elt.errors import ConfigError
from olist_elt.profiles import find_profiles_dir, read_target, render_value


@pytest.fixture
def example_profiles(project_root: Path, tmp_path: Path) -> Path:
    """The repository's profiles.yml.example, as make installs it."""
    shutil.copy(project_root / "profiles.yml.example", tmp_path / "profiles.yml")
    return tmp_path


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "OLIST_TARGET", "OLIST_DUCKDB_PATH", "OLIST_PG_HOST", "OLIST_PG_PORT",
        "OLIST_PG_USER", "OLIST_PG_PASSWORD", "OLIST_PG_DATABASE", "OLIST_REDSHIFT_HOST",
        "OLIST_REDSHIFT_USER", "OLIST_REDSHIFT_PASSWORD", "DBT_PROFILES_DIR",
    ):  # fmt: skip
        monkeypatch.delenv(name, raising=False)


def test_default_target_renders_env_var_defaults(example_profiles: Path) -> None:
    profile = read_target(example_profiles)
    assert profile.name == "duckdb"
    assert profile.type == "duckdb"
    assert profile.settings["path"] == "warehouse/olist.duckdb"
    assert profile.settings["threads"] == 4


def test_env_vars_and_as_number(example_profiles: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OLIST_PG_HOST", "db.internal")
    monkeypatch.setenv("OLIST_PG_PORT", "6543")
    profile = read_target(example_profiles, "postgres")
    assert profile.settings["host"] == "db.internal"
    assert profile.settings["port"] == 6543  # a number, not the string "6543"
    assert profile.settings["user"] == "olist"
    assert profile.settings["password"] == ""


def test_default_target_comes_from_env(
    example_profiles: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OLIST_TARGET", "postgres")
    assert read_target(example_profiles).name == "postgres"


def test_only_the_selected_output_is_rendered(example_profiles: Path) -> None:
    # The redshift outputs need OLIST_REDSHIFT_HOST (no default); duckdb must not care.
    assert read_target(example_profiles, "duckdb").type == "duckdb"
    with pytest.raises(ConfigError) as error:
        read_target(example_profiles, "redshift")
    assert "OLIST_REDSHIFT_HOST" in str(error.value)
    assert "redshift" in str(error.value)


def test_redshift_output_with_env(example_profiles: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OLIST_REDSHIFT_HOST", "cluster.example")
    monkeypatch.setenv("OLIST_REDSHIFT_USER", "loader")
    monkeypatch.setenv("OLIST_REDSHIFT_PASSWORD", "secret")
    settings = read_target(example_profiles, "redshift").settings
    assert (settings["host"], settings["port"], settings["dbname"]) == (
        "cluster.example",
        5439,
        "dev",
    )


def test_unknown_output_lists_the_known_ones(example_profiles: Path) -> None:
    with pytest.raises(ConfigError, match=r"no output 'snowflake'.*duckdb, postgres"):
        read_target(example_profiles, "snowflake")


def test_missing_profiles_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="profiles file not found"):
        read_target(tmp_path)


def test_profiles_dir_lookup_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert find_profiles_dir() == tmp_path / "home" / ".dbt"
    (tmp_path / "profiles.yml").write_text("{}")
    assert find_profiles_dir() == tmp_path
    monkeypatch.setenv("DBT_PROFILES_DIR", "/somewhere")
    assert find_profiles_dir() == Path("/somewhere")
    assert find_profiles_dir("/explicit") == Path("/explicit")


def test_render_value_nested() -> None:
    rendered = render_value(
        {"a": ["{{ env_var('NOPE_X', '1') | as_number }}", "plain"], "b": {"c": "x{{ 1 + 1 }}"}},
        "t",
    )
    assert rendered == {"a": [1, "plain"], "b": {"c": "x2"}}
