"""Run several MetricFlow queries in one process and write their rows as JSON.

Each `mf query` call starts dbt and MetricFlow afresh (10-20 s here); the tests need a
dozen queries per engine, so this script sets MetricFlow up once, as the `mf` command does
(profiles from DBT_PROFILES_DIR, the semantic manifest in the project's target/), and runs
them all. A child process keeps dbt's in-process state away from pytest.

    python metricflow_queries.py PROJECT_DIR REQUESTS.json OUT.json
    python metricflow_queries.py --redshift-sql PROJECT_DIR OUT.json

REQUESTS.json maps a name to {"saved_query": name} or {"metrics": [...], "group_by": [...],
"end_time": "YYYY-MM-DD"}; OUT.json maps the same names to {"columns": [...], "rows": [...]}.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    return value


def redshift_sql(project_dir: Path, out_file: Path) -> int:
    """Render every saved query as MetricFlow's Redshift SQL, with no cluster (no client)."""
    from dbt_metricflow.cli.dbt_connectors.dbt_config_accessor import dbtArtifacts
    from metricflow.engine.metricflow_engine import MetricFlowEngine, MetricFlowQueryRequest
    from metricflow.protocols.sql_client import SqlEngine
    from metricflow.sql.render.redshift import RedshiftSqlPlanRenderer
    from metricflow_semantics.model.semantic_manifest_lookup import SemanticManifestLookup

    class NoCluster:
        """Enough of a SqlClient to plan and render; anything that would connect fails."""

        sql_engine_type = SqlEngine.REDSHIFT
        sql_plan_renderer = RedshiftSqlPlanRenderer()

        def __getattr__(self, name: str) -> Any:
            raise RuntimeError(f"rendering only: no Redshift connection for {name}")

    manifest = dbtArtifacts.build_semantic_manifest_from_dbt_project_root(project_dir)
    engine = MetricFlowEngine(
        semantic_manifest_lookup=SemanticManifestLookup(manifest), sql_client=NoCluster()
    )
    rendered = {
        saved.name: engine.explain(
            MetricFlowQueryRequest.create(saved_query_name=saved.name)
        ).sql_statement.without_descriptions.sql
        for saved in manifest.saved_queries
    }
    out_file.write_text(json.dumps(rendered), encoding="utf-8")
    return 0


def main(argv: list[str]) -> int:
    if argv[0] == "--redshift-sql":
        return redshift_sql(Path(argv[1]), Path(argv[2]))
    from dbt_metricflow.cli.cli_configuration import CLIConfiguration
    from metricflow.engine.metricflow_engine import MetricFlowQueryRequest

    project_dir, requests_file, out_file = (Path(arg) for arg in argv)
    config = CLIConfiguration()
    config.setup(
        dbt_profiles_path=Path(os.environ["DBT_PROFILES_DIR"]),
        dbt_project_path=project_dir,
        configure_file_logging=False,
    )
    results = {}
    for name, request in json.loads(requests_file.read_text()).items():
        end = request.get("end_time")
        query = MetricFlowQueryRequest.create(
            saved_query_name=request.get("saved_query"),
            metric_names=request.get("metrics"),
            group_by_names=request.get("group_by"),
            time_constraint_end=dt.datetime.fromisoformat(end) if end else None,
        )
        table = config.mf.query(mf_request=query).result_df
        results[name] = {
            "columns": list(table.column_names),
            "rows": [[_plain(value) for value in row] for row in table.rows],
        }
    out_file.write_text(json.dumps(results), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
