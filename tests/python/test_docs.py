"""The README and the pages under docs/: short, every relative link resolves, counts match dbt.

Each figure has one home: measured timings live in the generated block of docs/benchmarks.md,
counts of models and tests are checked here against the manifest of `dbt parse`, and the size
of the pytest suite is left to CI's output. These tests keep it that way.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from dbt_cli import PROJECT_ROOT, load_json, run_dbt, write_profiles

README_MAX_LINES = 250
BENCH_BEGIN = "<!-- bench:begin"
BENCH_END = "<!-- bench:end -->"

# Pages other parts of the project write; the README and these pages link to them.
EXPECTED_PAGES = {
    "docs/development.md",
    "docs/metrics-and-dashboards.md",
    "docs/review.md",
    "docs/roles.md",
}

LINK = re.compile(r"(?<!\!)\[[^\]]*\]\(([^)\s]+)\)")
FENCE = re.compile(r"^(```|~~~).*?^\1[^\n]*$", re.M | re.S)


def pages(root: Path = PROJECT_ROOT) -> list[Path]:
    found = [root / "README.md", root / "CONTRIBUTING.md", *sorted((root / "docs").glob("*.md"))]
    return [page for page in found if page.exists()]


def without_code(text: str) -> str:
    """Prose only: fenced blocks (pasted output, commands) and inline code removed."""
    text = FENCE.sub("", text)
    text = re.sub(r"^(    |\t).*$", "", text, flags=re.M)  # indented code blocks
    return re.sub(r"`[^`\n]*`", "", text)


def without_bench_block(text: str) -> str:
    if BENCH_BEGIN not in text:
        return text
    head, rest = text.split(BENCH_BEGIN, 1)
    return head + rest.split(BENCH_END, 1)[-1]


def anchors(markdown: str) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens."""
    found = set()
    for line in FENCE.sub("", markdown).splitlines():
        if match := re.match(r"#{1,6}\s+(.*?)\s*#*\s*$", line):
            slug = re.sub(r"[^\w\- ]", "", match.group(1).strip().lower()).replace(" ", "-")
            found.add(slug)
    return found


def broken_links(root: Path, expected: set[str] = frozenset()) -> list[str]:
    """Every relative link of the pages under root that names no file (or no heading)."""
    problems = []
    for page in pages(root):
        text = page.read_text(encoding="utf-8")
        for target in LINK.findall(FENCE.sub("", text)):
            if re.match(r"[a-z][a-z0-9+.-]*:", target):  # http:, https:, mailto:
                continue
            path_part, _, anchor = target.partition("#")
            resolved = (page.parent / path_part).resolve() if path_part else page
            where = f"{page.relative_to(root)}: link {target!r}"
            try:
                relative = resolved.relative_to(root.resolve()).as_posix()
            except ValueError:
                problems.append(f"{where} leaves the repository")
                continue
            if not resolved.exists():
                if relative not in expected:
                    problems.append(f"{where}: no file {relative}")
                continue
            if (
                anchor
                and resolved.suffix == ".md"
                and anchor not in anchors(resolved.read_text(encoding="utf-8"))
            ):
                problems.append(f"{where}: no heading #{anchor} in {relative}")
    return problems


def test_readme_is_a_front_door() -> None:
    lines = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    assert len(lines) <= README_MAX_LINES, (
        f"README.md has {len(lines)} lines; at most {README_MAX_LINES}: move detail to docs/"
    )
    text = "\n".join(lines)
    for command in ("make run", "make test", "make check", "source .venv/bin/activate"):
        assert command in text, f"README.md does not show `{command}`"


def test_every_relative_link_resolves() -> None:
    assert broken_links(PROJECT_ROOT, EXPECTED_PAGES) == []


def test_every_docs_page_is_linked_from_the_readme() -> None:
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    linked = {target.partition("#")[0] for target in LINK.findall(readme)}
    for page in sorted((PROJECT_ROOT / "docs").glob("*.md")):
        assert f"docs/{page.name}" in linked, f"docs/{page.name} is not linked from README.md"


def test_link_checker_catches_missing_files_and_headings(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "a.md").write_text("# A page\n\n## Some section\n", encoding="utf-8")
    (tmp_path / "README.md").write_text(
        "[ok](docs/a.md) [ok too](docs/a.md#some-section) [web](https://example.com)\n"
        "[gone](docs/b.md) [bad heading](docs/a.md#nothing) [outside](../x.md)\n"
        "```\n[in code](docs/c.md)\n```\n",
        encoding="utf-8",
    )
    problems = broken_links(tmp_path)
    assert len(problems) == 3, problems
    assert "no file docs/b.md" in problems[0]
    assert "no heading #nothing" in problems[1]
    assert "leaves the repository" in problems[2]
    assert broken_links(tmp_path, {"docs/b.md"})[0] == problems[1]


# Measured seconds, ratios and megabytes: they belong to the generated block of
# docs/benchmarks.md. Settings and input sizes (a sampling interval, a chunk size, the size
# of a bad file) are not measurements.
TIMING = re.compile(r"\b\d+(?:\.\d+)?\s?(?:s|ms|sec|seconds|MB|GB)\b|\b\d+\.\d+x\b")
SETTINGS = ("every 0.2 s", "in 1 MB chunks", "at 256 MB", "field (3 MB)", "above 2 MB")


def timings_in_prose(text: str) -> list[str]:
    prose = without_code(without_bench_block(text))
    for setting in SETTINGS:
        prose = prose.replace(setting, "")
    return [match.group(0) for match in TIMING.finditer(prose)]


def test_timings_live_only_in_the_benchmark_page() -> None:
    for page in pages():
        found = timings_in_prose(page.read_text(encoding="utf-8"))
        assert not found, (
            f"{page.relative_to(PROJECT_ROOT)} states timings in prose {found}: link to "
            "docs/benchmarks.md (rendered by make bench) instead"
        )


def test_timing_check_sees_prose_but_not_code_or_the_generated_block() -> None:
    assert timings_in_prose("The build took 14.2 s.") == ["14.2 s"]
    assert timings_in_prose("The loader is 1.35x the floor.") == ["1.35x"]
    assert timings_in_prose("```\ndbt build in 89.3 s\n```\n`0.5 s` in code") == []
    assert timings_in_prose(f"{BENCH_BEGIN} -->\n12.3 s\n{BENCH_END}\nafter") == []


# "<n> tests" in prose is the size of the pytest suite, which CI's output reports; dbt's
# counts say which kind ("418 data tests") and are checked against the manifest below.
SUITE_SIZE = re.compile(r"\b\d[\d,]*\s+(?:pytest\s+)?tests?\b")


def test_prose_does_not_restate_the_size_of_the_test_suite() -> None:
    for page in pages():
        found = SUITE_SIZE.findall(without_code(page.read_text(encoding="utf-8")))
        assert not found, f"{page.relative_to(PROJECT_ROOT)} restates test counts: {found}"
    assert SUITE_SIZE.findall("make test runs 438 tests") == ["438 tests"]
    assert SUITE_SIZE.findall("418 data tests and 17 unit tests") == []


@pytest.fixture(scope="module")
def counts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, int]:
    """What `dbt parse` finds in the project, by kind."""
    work = tmp_path_factory.mktemp("docs_counts")
    profiles = write_profiles(work / "profiles", work / "unused.duckdb")
    target = work / "target"
    run_dbt("parse", project_dir=PROJECT_ROOT, profiles_dir=profiles, target_path=target).check()
    return count_resources(load_json(target / "manifest.json"))


def count_resources(manifest: dict[str, Any]) -> dict[str, int]:
    nodes = [n for n in manifest["nodes"].values() if n["package_name"] == "olist_elt"]
    models = [n for n in nodes if n["resource_type"] == "model"]
    marts = [m for m in models if m["fqn"][1] == "marts"]
    return {
        "models": len(models),
        "staging": sum(m["fqn"][1] == "staging" for m in models),
        "intermediate": sum(m["fqn"][1] == "intermediate" for m in models),
        "core": sum(m["fqn"][2] == "core" for m in marts),
        "business marts": sum(m["fqn"][2] != "core" for m in marts),
        "snapshot": sum(n["resource_type"] == "snapshot" for n in nodes),
        "seed": sum(n["resource_type"] == "seed" for n in nodes),
        "data tests": sum(n["resource_type"] == "test" for n in nodes),
        "unit tests": len(manifest.get("unit_tests", {})),
        "exposures": len(manifest.get("exposures", {})),
    }


def stated_counts(text: str) -> dict[str, int]:
    """The counts of docs/models.md's sentence "The project has 32 models (9 staging, ...)"."""
    match = re.search(r"The project has (.*?)\.\s", text, re.S)
    assert match, "docs/models.md lost its sentence 'The project has <n> models (...), ...'"
    sentence = " ".join(match.group(1).split())
    found = {}
    for number, kind in re.findall(
        r"(\d+) (models|staging|intermediate|core|business marts|snapshots?|seeds?|"
        r"data tests|unit tests|exposures)\b",
        sentence,
    ):
        found[kind.rstrip("s") if kind in ("snapshots", "seeds") else kind] = int(number)
    return found


def test_stated_counts_parser() -> None:
    text = "The project has 2 models (1 staging, 1 core), 3 snapshots, 4 data tests. More"
    assert stated_counts(text) == {"models": 2, "staging": 1, "core": 1, "snapshot": 3,
                                   "data tests": 4}  # fmt: skip


@pytest.mark.slow  # dbt parse
def test_model_and_test_counts_match_the_manifest(counts: dict[str, int]) -> None:
    models_page = (PROJECT_ROOT / "docs" / "models.md").read_text(encoding="utf-8")
    assert stated_counts(models_page) == counts, (
        "docs/models.md's counts differ from dbt parse's manifest: update the sentence "
        f"'The project has ...' to {counts}"
    )
    # The README pastes make run's output; its build line must still be true.
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    match = re.search(
        r"dbt build in [\d.]+ s: (\d+) models, (\d+) snapshots, (\d+) seeds, (\d+) tests", readme
    )
    assert match, "README.md lost the dbt build line of make run's output"
    pasted = tuple(int(n) for n in match.groups())
    expected = (
        counts["models"],
        counts["snapshot"],
        counts["seed"],
        counts["data tests"] + counts["unit tests"],
    )
    assert pasted == expected, (
        f"README.md's make run output says {pasted} (models, snapshots, seeds, tests); the "
        f"project has {expected}: paste the output of a new make run"
    )
