"""The project's generic tests (tests/generic) pass on good data and fail on bad data.

A small fixture project (fixtures/generic_tests_project) reads the real test definitions
through its macro-paths, seeds good and bad rows into a temporary DuckDB file and runs
`dbt build` in-process. Each test case has an expected failure count: 0 means the test
must pass, more means it must fail with exactly that many failing rows (or, for
equal_rowcount, that row count difference).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from dbt.artifacts.schemas.results import TestStatus
from dbt.cli.main import dbtRunner

from dbt_cli import fixture_profiles, fixture_project_args

pytestmark = pytest.mark.slow

FIXTURE_PROJECT = Path(__file__).parent / "fixtures" / "generic_tests_project"
GENERIC_TESTS_DIR = Path(__file__).resolve().parents[1] / "generic"

# test name -> expected failures (0 = pass). Derivations are in the seed files' comments
# and in fixtures/generic_tests_project/seeds/_seeds.yml.
EXPECTED_FAILURES: dict[str, int] = {
    # (o1, 1) twice and (o2, 1) three times: two duplicated combinations.
    "ucc_items_good": 0,
    "ucc_items_bad": 2,
    # One negative price and one negative freight, on two rows.
    "expr_amounts_non_negative_items_good": 0,
    "expr_amounts_non_negative_items_bad": 2,
    "expr_column_freight_items_good": 0,
    "expr_column_freight_items_bad": 1,
    # The where config restricts the rows; without it, scores 1 and 2 break the rule
    # and the null score passes.
    "expr_where_reviews_items_good": 0,
    "expr_no_where_reviews_items_good": 2,
    "expr_where_reviews_items_bad": 1,
    # Scores 0 and 6; strict bounds reject the good data's 1 and 5.
    "range_review_items_good": 0,
    "range_review_exclusive_items_good": 2,
    "range_review_items_bad": 2,
    "range_price_min_only_items_good": 0,
    "range_price_min_only_items_bad": 1,
    # Failures are the row count difference.
    "rowcount_totals_good_vs_bad": 0,
    "rowcount_items_bad_vs_good": 1,
    "rowcount_items_good_vs_empty": 6,
    "not_empty_items_good": 0,
    "not_empty_where_nothing_items_good": 1,
    "not_empty_empty_items": 1,
    # 2018-02 off by 0.05, 2018-03 missing, 2018-04 extra; null months match each other.
    "sums_match_by_month_items_good": 0,
    "sums_match_tight_tolerance_items_good": 1,
    "sums_match_overall_items_good": 0,
    # compare_where filters compare_model as the where config filters the model.
    "sums_match_both_filtered_items_good": 0,
    "sums_match_compare_filtered_items_good": 1,
    "sums_match_by_month_items_good_vs_bad_totals": 3,
    "sums_match_overall_items_good_vs_bad_totals": 1,
    # 2018-02 adds up to 1.1, 2018-03 to 0.9, the null month has no share.
    "shares_per_month_items_good": 0,
    "shares_per_month_items_bad": 3,
    # One failing row per broken row (its first broken rule): a gap (a), an open interval
    # before the last (b), a negative interval (c), a closed last interval (d); e's null
    # start sorts first, so its open first row and its closed last row both fail: 6.
    "intervals_contiguous_intervals_good": 0,
    "intervals_contiguous_closed_allowed_intervals_good": 0,
    "intervals_contiguous_intervals_bad": 6,
}


@dataclass(frozen=True)
class CaseOutcome:
    name: str
    generic_test: str  # name of the generic test the case instantiates
    status: str
    failures: int | None
    message: str | None


@pytest.fixture(scope="module")
def fixture_outcomes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, CaseOutcome]:
    """Seed, run and test the fixture project once on a fresh DuckDB file; test outcomes by name."""
    work = tmp_path_factory.mktemp("generic_tests")
    profiles_dir = fixture_profiles("generic_tests_fixture", work)
    common_args = fixture_project_args(FIXTURE_PROJECT, profiles_dir, work)
    runner = dbtRunner()
    # seed and run before test, not build: build would skip models downstream of a
    # seed whose tests fail, and some tests fail on purpose here.
    for command in ("seed", "run"):
        result = runner.invoke([command, *common_args])
        assert result.success, f"dbt {command} of {FIXTURE_PROJECT} failed: {result.exception!r}"
    result = runner.invoke(["test", *common_args])
    # success is False because some tests fail on purpose; an exception means dbt itself broke.
    assert result.exception is None, f"dbt test of {FIXTURE_PROJECT} raised {result.exception!r}"
    assert result.result is not None, f"dbt test of {FIXTURE_PROJECT} returned no results"
    outcomes: dict[str, CaseOutcome] = {}
    for node_result in result.result.results:
        node = node_result.node
        outcomes[node.name] = CaseOutcome(
            name=node.name,
            generic_test=node.test_metadata.name,
            status=str(node_result.status),
            failures=node_result.failures,
            message=node_result.message,
        )
    return outcomes


def test_every_expected_case_ran(fixture_outcomes: dict[str, CaseOutcome]) -> None:
    assert sorted(fixture_outcomes) == sorted(EXPECTED_FAILURES)


@pytest.mark.parametrize(("name", "expected_failures"), sorted(EXPECTED_FAILURES.items()))
def test_generic_test_outcome(
    fixture_outcomes: dict[str, CaseOutcome], name: str, expected_failures: int
) -> None:
    outcome = fixture_outcomes.get(name)
    assert outcome is not None, f"test {name} did not run in {FIXTURE_PROJECT}"
    expected_status = TestStatus.Pass if expected_failures == 0 else TestStatus.Fail
    assert outcome.status == expected_status, (
        f"{name} ({outcome.generic_test}): expected {expected_status}, got {outcome.status}: "
        f"{outcome.message}"
    )
    assert outcome.failures == expected_failures, (
        f"{name} ({outcome.generic_test}): expected {expected_failures} failures, "
        f"got {outcome.failures}"
    )


def test_each_generic_test_both_passes_and_fails(
    fixture_outcomes: dict[str, CaseOutcome],
) -> None:
    """Every test defined in tests/generic is shown to pass on some data and fail on other."""
    defined = {
        match.group(1)
        for path in GENERIC_TESTS_DIR.glob("*.sql")
        for match in re.finditer(r"{%-?\s*test\s+(\w+)\s*\(", path.read_text())
    }
    assert defined, f"no generic tests found in {GENERIC_TESTS_DIR}"
    for generic_test in sorted(defined):
        statuses = {o.status for o in fixture_outcomes.values() if o.generic_test == generic_test}
        assert statuses == {TestStatus.Pass, TestStatus.Fail}, (
            f"generic test {generic_test} needs a passing and a failing case in "
            f"{FIXTURE_PROJECT}, got statuses {sorted(statuses)}"
        )
