"""Warehouse connection settings from the dbt profiles file, so dbt and the loader agree.

Only the selected output is rendered: an output for another warehouse may use
``env_var('X')`` without a default for variables that are not set here.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from olist_elt.errors import ConfigError

PROFILE_NAME = "olist_elt"
PROFILES_FILE = "profiles.yml"
TARGET_TYPES = ("duckdb", "postgres", "redshift")

# dbt turns these filters' output into native values; we do the same after rendering.
_NUMBER_FILTER = re.compile(r"\|\s*as_number\b")
_BOOL_FILTER = re.compile(r"\|\s*as_bool\b")


@dataclass(frozen=True)
class TargetProfile:
    """One rendered output of the profile: its name, warehouse type and settings."""

    name: str
    type: str
    settings: dict[str, Any] = field(default_factory=dict)
    profiles_file: Path | None = None


def find_profiles_dir(explicit: str | os.PathLike[str] | None = None) -> Path:
    """Like dbt: the explicit folder, then $DBT_PROFILES_DIR, then ./profiles.yml, then ~/.dbt."""
    if explicit:
        return Path(explicit)
    if configured := os.environ.get("DBT_PROFILES_DIR"):
        return Path(configured)
    if (Path.cwd() / PROFILES_FILE).is_file():
        return Path.cwd()
    return Path.home() / ".dbt"


def read_target(
    profiles_dir: str | os.PathLike[str] | None = None,
    target: str | None = None,
    profile: str = PROFILE_NAME,
) -> TargetProfile:
    """Read, select and render one output of the profile."""
    path = find_profiles_dir(profiles_dir) / PROFILES_FILE
    if not path.is_file():
        raise ConfigError(
            f"profiles file not found: {path} (set DBT_PROFILES_DIR or --profiles-dir; "
            "`make install` copies profiles.yml.example to ./profiles.yml)"
        )
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(document.get(profile), dict):
        raise ConfigError(f"{path}: no profile {profile!r} (profiles: {', '.join(document)})")
    outputs = document[profile].get("outputs") or {}
    name = target or render_value(document[profile].get("target", ""), f"{profile}.target")
    if not name:
        raise ConfigError(f"{path}: profile {profile!r} has no default target; pass one")
    if name not in outputs:
        raise ConfigError(
            f"{path}: profile {profile!r} has no output {name!r} "
            f"(outputs: {', '.join(outputs) or 'none'})"
        )
    settings = render_value(outputs[name], f"{profile}.outputs.{name}")
    target_type = str(settings.get("type", ""))
    if target_type not in TARGET_TYPES:
        raise ConfigError(
            f"{path}: output {name!r} has type {target_type!r}; the loader supports "
            f"{', '.join(TARGET_TYPES)}"
        )
    return TargetProfile(name=name, type=target_type, settings=settings, profiles_file=path)


def render_value(value: Any, where: str) -> Any:
    """Render Jinja in every string of a YAML value (dicts and lists recursively)."""
    if isinstance(value, dict):
        return {key: render_value(item, f"{where}.{key}") for key, item in value.items()}
    if isinstance(value, list):
        return [render_value(item, f"{where}[{index}]") for index, item in enumerate(value)]
    if not isinstance(value, str) or "{" not in value:
        return value
    rendered = _render(value, where)
    if rendered == "None" and "none" in value:
        # dbt renders profiles natively: `{{ env_var('X', '') or none }}` is null, not "None".
        return None
    if _NUMBER_FILTER.search(value):
        try:
            return int(rendered)
        except ValueError:
            try:
                return float(rendered)
            except ValueError:
                raise ConfigError(f"{where}: {rendered!r} is not a number") from None
    if _BOOL_FILTER.search(value):
        return rendered.strip().lower() in ("true", "1", "yes", "on")
    return rendered


def _render(template: str, where: str) -> str:
    import jinja2

    def env_var(name: str, default: str | None = None) -> str:
        if name in os.environ:
            return os.environ[name]
        if default is not None:
            return str(default)
        raise ConfigError(f"{where}: environment variable {name} is not set and has no default")

    environment = jinja2.Environment(undefined=jinja2.StrictUndefined, autoescape=False)
    environment.globals["env_var"] = env_var
    for native in ("as_number", "as_bool", "as_text", "as_native"):
        environment.filters[native] = lambda text: text
    try:
        return environment.from_string(template).render()
    except jinja2.TemplateError as exc:
        raise ConfigError(f"{where}: cannot render {template!r}: {exc}") from exc
