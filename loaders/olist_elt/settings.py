"""What every command shares: which warehouse, which raw schema, which project, which days.

Read once, by ``Settings.resolve``: a command-line option wins over its environment variable,
which wins over the default. The same object then goes to the loader (``load_options``) and
to every dbt invocation (``dbt_args``), so both read and write the same raw schema:

    option           environment         default
    --target         OLIST_TARGET        the profile's own target
    --profiles-dir   DBT_PROFILES_DIR    dbt's search (./profiles.yml, then ~/.dbt)
    --schema         OLIST_RAW_SCHEMA    raw_olist
    --endpoint-url   AWS_ENDPOINT_URL    AWS itself
    --project-dir    OLIST_PROJECT_DIR   this repository

dbt learns the raw schema through ``--vars '{"olist_raw_schema": ...}'``; the source YAML
(models/staging/olist/_olist__sources.yml) reads that var first and OLIST_RAW_SCHEMA only
when no var is given, so a plain `dbt build` still honours the environment variable.

Every olist command is production to dbt (``olist_environment: production``): incremental
models stay incremental and refuse a changed schema until a deploy rebuilds them with
``--full-refresh``. A plain `dbt build` (OLIST_ENVIRONMENT unset) is development and
rebuilds the incremental models it selects whole (dbt_project.yml, docs/development.md).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import date
from pathlib import Path
from typing import Any

from olist_elt.spec import DEFAULT_RAW_SCHEMA

PROJECT_ROOT = Path(__file__).resolve().parents[2]
RAW_SCHEMA_VAR = "olist_raw_schema"  # the dbt var the source YAML reads
ENVIRONMENT_VAR = "olist_environment"  # the dbt var dbt_project.yml's full_refresh reads
# What production dbt runs pass (olist commands, the Airflow DAG, tests of incremental runs).
PRODUCTION_DBT_VARS = {ENVIRONMENT_VAR: "production"}

# field -> the environment variable that stands in for its option
ENVIRONMENT = {
    "target": "OLIST_TARGET",
    "profiles_dir": "DBT_PROFILES_DIR",
    "raw_schema": "OLIST_RAW_SCHEMA",
    "endpoint_url": "AWS_ENDPOINT_URL",
    "project_dir": "OLIST_PROJECT_DIR",
}


@dataclass(frozen=True)
class Settings:
    """The options every command shares, resolved (see the module docstring)."""

    target: str | None = None
    profiles_dir: str | None = None
    raw_schema: str = DEFAULT_RAW_SCHEMA
    endpoint_url: str | None = None
    project_dir: Path = PROJECT_ROOT
    # Which drops (daily commands): explicit days, or a range, or every pending one.
    dates: tuple[date, ...] = ()
    date_from: date | None = None
    date_to: date | None = None
    pending: bool = False

    @classmethod
    def resolve(
        cls, options: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None
    ) -> Settings:
        """Options (None or absent: not given), then ``environ`` (os.environ), then defaults."""
        options = options or {}
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for spec in fields(cls):
            given = options.get(spec.name)
            if given is None and spec.name in ENVIRONMENT:
                given = environ.get(ENVIRONMENT[spec.name]) or None
            if given is not None:
                values[spec.name] = given
        if "project_dir" in values:
            values["project_dir"] = Path(values["project_dir"])
        if "dates" in values:
            values["dates"] = tuple(values["dates"])
        if "profiles_dir" in values:
            values["profiles_dir"] = str(values["profiles_dir"])
        return cls(**values)

    def dbt_vars(self, extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The --vars of every dbt invocation: the raw schema, production, plus ``extra``."""
        return {RAW_SCHEMA_VAR: self.raw_schema, **PRODUCTION_DBT_VARS, **(extra or {})}

    def dbt_args(self, extra_vars: Mapping[str, Any] | None = None) -> list[str]:
        """Project, profile, target and vars options for any dbt command."""
        args = ["--project-dir", str(self.project_dir)]
        if self.profiles_dir:
            args += ["--profiles-dir", self.profiles_dir]
        if self.target:
            args += ["--target", self.target]
        # Sorted keys: the same settings give the same text, which dbt's partial parsing
        # compares to decide whether the project must be parsed again.
        args += ["--vars", json.dumps(self.dbt_vars(extra_vars), sort_keys=True)]
        return args

    def load_options(self) -> dict[str, Any]:
        """The keyword arguments of olist_elt.load.loader.load and load_drops they settle."""
        return {
            "target": self.target,
            "profiles_dir": self.profiles_dir,
            "schema": self.raw_schema,
            "endpoint_url": self.endpoint_url,
        }
