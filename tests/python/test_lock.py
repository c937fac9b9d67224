"""The install is the lock: every package of both venvs is pinned with its hashes, and the
locks say the same as the files they are compiled from (`make lock` after editing those)."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from dbt_cli import PROJECT_ROOT

# pip-compile names the source of each direct requirement in a `# via` comment.
PYPROJECT_SOURCE = "olist-elt (pyproject.toml)"
AIRFLOW_IN = "orchestration/requirements-airflow.in"


@dataclass
class Pin:
    version: str
    hashes: list[str] = field(default_factory=list)
    via: list[str] = field(default_factory=list)


def read_lock(path: Path) -> dict[str, Pin]:
    """name -> pin, with the hashes and the `# via` sources pip-compile wrote for it."""
    pins: dict[str, Pin] = {}
    current: Pin | None = None
    for line in path.read_text().splitlines():
        stripped = line.strip()
        if pinned := re.match(r"^([A-Za-z0-9_.\-]+)==([^\s\\;]+)", line):
            current = pins.setdefault(canonicalize_name(pinned[1]), Pin(pinned[2]))
        elif current and stripped.startswith("--hash=sha256:"):
            current.hashes.append(stripped.removeprefix("--hash=sha256:").rstrip(" \\"))
        elif current and stripped.startswith("#"):
            source = stripped.lstrip("#").strip().removeprefix("via").strip()
            if source:
                current.via.append(source)
        elif line and not line.startswith((" ", "#")):
            pytest.fail(f"{path.name}: not a pinned requirement: {line!r}")
    return pins


def pyproject_requirements() -> list[Requirement]:
    project = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["project"]
    return [
        Requirement(r) for r in [*project["dependencies"], *project["optional-dependencies"]["dev"]]
    ]


def in_file_requirements(path: Path) -> list[Requirement]:
    lines = (line.split("#")[0].strip() for line in path.read_text().splitlines())
    return [Requirement(line) for line in lines if line]


def disagreements(requirements: list[Requirement], pins: dict[str, Pin], source: str) -> list[str]:
    """Where a lock and the file it is compiled from disagree, one line each."""
    problems = []
    wanted = {canonicalize_name(r.name): r for r in requirements}
    for name, requirement in wanted.items():
        pin = pins.get(name)
        if pin is None:
            problems.append(f"{requirement} is not in the lock")
        elif not requirement.specifier.contains(pin.version, prereleases=True):
            problems.append(f"{requirement}: the lock pins {pin.version}")
        elif source not in pin.via:
            problems.append(
                f"{requirement}: the lock does not list it as a requirement of {source}"
            )
    for name, pin in pins.items():
        if source in pin.via and name not in wanted:
            problems.append(
                f"{name}=={pin.version}: locked as a requirement of {source}, not there"
            )
    return problems


LOCKS = {
    "requirements-dev.txt": (pyproject_requirements, PYPROJECT_SOURCE),
    "orchestration/requirements-airflow.txt": (
        lambda: in_file_requirements(PROJECT_ROOT / AIRFLOW_IN),
        f"-r {AIRFLOW_IN}",
    ),
}


@pytest.mark.parametrize("lock", sorted(LOCKS))
def test_lock_agrees_with_its_source(lock: str) -> None:
    requirements, source = LOCKS[lock]
    problems = disagreements(requirements(), read_lock(PROJECT_ROOT / lock), source)
    assert not problems, f"{lock} is stale (make lock):\n" + "\n".join(problems)


@pytest.mark.parametrize("lock", sorted(LOCKS))
def test_every_locked_package_has_hashes(lock: str) -> None:
    pins = read_lock(PROJECT_ROOT / lock)
    assert len(pins) > 20, f"{lock}: only {len(pins)} pins read"
    unhashed = [name for name, pin in pins.items() if not pin.hashes]
    assert not unhashed, f"{lock}: pinned without a hash: {unhashed}"


def test_a_stale_lock_is_reported(tmp_path: Path) -> None:
    """The check above can fail: a raised floor, a new and a dropped requirement."""
    pins = read_lock(PROJECT_ROOT / "requirements-dev.txt")
    moto = pins["moto"].version
    requirements = [
        r for r in pyproject_requirements() if canonicalize_name(r.name) != "pyyaml"
    ] + [Requirement(f"moto>{moto}"), Requirement("left-pad==1.0")]
    problems = disagreements(requirements, pins, PYPROJECT_SOURCE)
    assert f"moto>{moto}: the lock pins {moto}" in problems
    assert "left-pad==1.0 is not in the lock" in problems
    assert any(p.startswith("pyyaml==") and p.endswith("not there") for p in problems), problems


def test_make_install_installs_exactly_the_locks() -> None:
    """Both venvs are installed from their lock with --require-hashes, the project itself
    without dependencies, so nothing resolves at install time."""
    makefile = (PROJECT_ROOT / "Makefile").read_text()
    assert re.search(r"\$\(BIN\)/pip install .*--require-hashes --no-deps -r \$\(LOCK\)", makefile)
    assert re.search(
        r"\$\(AIRFLOW_BIN\)/pip install .*--require-hashes --no-deps -r \$\(AIRFLOW_LOCK\)",
        makefile,
    )
    installs = re.findall(r"^\t\$\((?:AIRFLOW_)?BIN\)/pip install (.*)$", makefile, re.MULTILINE)
    unlocked = [i for i in installs if "--no-deps" not in i]
    assert not unlocked, f"pip installs that resolve dependencies: {unlocked}"
