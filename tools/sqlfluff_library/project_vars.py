"""Lint-time values of the project's vars (see dbt.py for why stand-ins exist).

The `var` macro in .sqlfluff looks names up here, so `{{ var('incremental_lookback_days') }}`
renders as dbt_project.yml's value (a number stays a number) instead of a placeholder string.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

DBT_PROJECT = Path(__file__).resolve().parents[2] / "dbt_project.yml"
PLACEHOLDER = "item"  # what sqlfluff's own var() renders


def _project_vars() -> dict[str, Any]:
    try:
        project = yaml.safe_load(DBT_PROJECT.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError):
        return {}
    # Package-scoped vars are nested dicts; only the global ones apply here.
    return {k: v for k, v in (project.get("vars") or {}).items() if not isinstance(v, dict)}


VALUES = _project_vars()


def lookup(name: str, default: Any = None) -> Any:
    if name in VALUES:
        return VALUES[name]
    return PLACEHOLDER if default is None else default
