"""`olist load`: progress lines, summary and exit status."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from loader_files import write_profiles, write_set
from olist_elt.cli import main


@pytest.fixture
def setup(tmp_path: Path) -> tuple[Path, Path]:
    write_set(tmp_path / "src", count=3)
    return tmp_path / "src", write_profiles(tmp_path / "profiles")


def test_progress_and_summary(setup: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    source, profiles = setup
    assert main(["load", str(source), "--profiles-dir", str(profiles)]) == 0
    out = capsys.readouterr().out.splitlines()
    orders = next(line for line in out if line.startswith("orders "))
    assert orders.split()[1:3] == ["3", "rows"]
    assert "MB" in orders and orders.rstrip().endswith("loaded")
    assert out[-1].startswith("9 loaded, 0 failed: 27 rows")
    assert "into duckdb schema raw_olist" in out[-1]

    assert main(["load", str(source), "--profiles-dir", str(profiles)]) == 0
    assert capsys.readouterr().out.splitlines()[-1].startswith("9 skipped, 0 failed")


def test_failure_exits_non_zero_and_names_the_file(
    setup: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    source, profiles = setup
    (source / "olist_sellers_dataset.csv").write_bytes(b"a;b\n1;2\n")
    assert main(["load", str(source), "--profiles-dir", str(profiles)]) == 1
    out = capsys.readouterr().out
    assert "sellers" in out and "failed" in out
    assert "olist_sellers_dataset.csv: header does not match" in out
    assert "8 loaded, 1 failed" in out


def test_configuration_errors_exit_2(
    setup: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    source, profiles = setup
    assert main(["load", str(source), "--profiles-dir", str(profiles), "--target", "nope"]) == 2
    assert "no output 'nope'" in capsys.readouterr().err
    assert (
        main(["load", str(source), "--profiles-dir", str(profiles), "--tables", "orders,bogus"])
        == 2
    )
    assert "unknown Olist table 'bogus'" in capsys.readouterr().err


def test_console_script_runs(setup: tuple[Path, Path], tmp_path: Path) -> None:
    source, profiles = setup
    script = Path(sys.executable).parent / "olist"
    command = [str(script)] if script.exists() else [sys.executable, "-m", "olist_elt"]
    done = subprocess.run(
        [*command, "load", str(source), "--profiles-dir", str(profiles), "--tables", "sellers"],
        capture_output=True, text=True, check=False, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "1 loaded, 0 failed: 3 rows" in done.stdout
