"""The fast tier's rules (tiers.py) on a scratch test module run by a nested pytest:
a test using a heavy fixture is marked slow by itself, and under --fast a test that
starts dbt fails with a message naming it."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

HERE = Path(__file__).resolve().parent

SCRATCH_TESTS = textwrap.dedent(
    """\
    import subprocess

    import pytest


    @pytest.fixture
    def pg_server():
        return "a server"


    def test_uses_a_server(pg_server):
        assert pg_server


    def test_plain():
        assert 1 + 1 == 2


    def test_runs_dbt():
        subprocess.run(["dbt", "--version"], check=False)


    @pytest.mark.slow
    def test_marked_slow():
        pass
    """
)


def _pytest(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    (folder / "pytest.ini").write_text("[pytest]\nmarkers =\n    slow: slow tier\n")
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "tiers", "-p", "no:cacheprovider", *args],
        cwd=folder,
        env={**os.environ, "PYTHONPATH": str(HERE)},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_a_heavy_fixture_puts_a_test_in_the_slow_tier(tmp_path: Path) -> None:
    (tmp_path / "test_scratch.py").write_text(SCRATCH_TESTS)
    listed = _pytest(tmp_path, "-m", "not slow", "--collect-only", "-q")
    assert listed.returncode == 0, listed.stdout + listed.stderr
    assert "test_plain" in listed.stdout
    assert "test_uses_a_server" not in listed.stdout, listed.stdout
    assert "test_marked_slow" not in listed.stdout, listed.stdout


def test_fast_tier_fails_a_test_that_starts_dbt(tmp_path: Path) -> None:
    (tmp_path / "test_scratch.py").write_text(SCRATCH_TESTS)
    run = _pytest(tmp_path, "--fast", "-q", "-rf")
    output = run.stdout + run.stderr
    assert run.returncode == 1, output
    assert "1 failed, 1 passed, 2 deselected" in output, output
    assert "test_scratch.py::test_runs_dbt starts dbt but is in the fast tier" in output, output
