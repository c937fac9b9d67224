"""Run with the Airflow virtualenv's python: print the olist_daily DAG as JSON.

test_airflow_dag.py calls it in a subprocess (Airflow is not importable from the project
venv): the import errors of the DAG folder, then per task its upstream tasks, retries,
retry delay, execution timeout, sensor settings and failure callback.
"""

from __future__ import annotations

import json
import sys

from airflow.dag_processing.dagbag import DagBag


def describe(folder: str) -> dict[str, object]:
    bag = DagBag(dag_folder=folder)
    dags = {}
    for dag_id, dag in bag.dags.items():
        tasks = {}
        for task in dag.tasks:
            callbacks = task.on_failure_callback or []
            if not isinstance(callbacks, list):
                callbacks = [callbacks]
            tasks[task.task_id] = {
                "upstream": sorted(task.upstream_task_ids),
                "retries": task.retries,
                "retry_delay": task.retry_delay.total_seconds() if task.retry_delay else None,
                "execution_timeout": (
                    task.execution_timeout.total_seconds() if task.execution_timeout else None
                ),
                "mode": getattr(task, "mode", None),
                "timeout": getattr(task, "timeout", None),
                "operator": type(task).__name__,
                "on_failure_callback": [f"{c.__module__}.{c.__name__}" for c in callbacks],
                "bash_command": getattr(task, "bash_command", None),
                "dbt_vars": getattr(task, "vars", None),  # cosmos's dbt tasks
            }
        dags[dag_id] = {
            "schedule": str(dag.timetable.summary),
            "catchup": dag.catchup,
            "max_active_runs": dag.max_active_runs,
            "tasks": tasks,
        }
    return {"import_errors": {str(k): str(v) for k, v in bag.import_errors.items()}, "dags": dags}


if __name__ == "__main__":
    print("@@JSON@@" + json.dumps(describe(sys.argv[1])))
