"""The dashboard site, built from the real set and opened in a real headless Chromium.

Every page is opened from the file system, its charts must have drawn marks, nothing may
come from the network, and the overview's tiles must show the marts' figures. Screenshots
go to test-output/dashboards/. A page without data must fail the build.
"""

from __future__ import annotations

import re
import shutil
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest
import yaml
from selenium.webdriver.remote.webdriver import WebDriver

from browser import Browser
from dbt_cli import PROJECT_ROOT
from olist_elt.cli import main as olist
from olist_elt.dashboards import build
from olist_elt.dashboards.pages import PAGES

pytestmark = pytest.mark.slow

SCREENSHOTS = PROJECT_ROOT / "test-output" / "dashboards"
MARTS = "analytics_marts"


def _profiles(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(PROJECT_ROOT / "profiles.yml.example", folder / "profiles.yml")
    return folder


@pytest.fixture(scope="module")
def site(real_duckdb_build: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    work = tmp_path_factory.mktemp("dashboards")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("OLIST_DUCKDB_PATH", str(real_duckdb_build))
        built = build(work / "site", target="duckdb", profiles_dir=_profiles(work / "profiles"))
    assert [b.path.name for b in built] == [f"{p.slug}.html" for p in PAGES]
    yield work / "site"


@pytest.fixture
def driver(browser: Browser) -> WebDriver:
    """The shared headless Chromium's Selenium driver (tests/python/browser.py)."""
    return browser.driver


# Marks per chart: the paths plotly draws inside each trace (bars, lines, markers).
CHART_MARKS = """
return Array.from(document.querySelectorAll('.js-plotly-plot')).map(
    plot => [plot.id, plot.querySelectorAll('g.trace path, g.trace .point').length]);
"""
RESOURCES = "return performance.getEntriesByType('resource').map(entry => entry.name);"


def _wait_for_charts(driver: Any, page: str, timeout: float = 30) -> list[list[Any]]:
    deadline = time.monotonic() + timeout
    while True:
        marks = driver.execute_script(CHART_MARKS)
        if marks and all(count > 0 for _, count in marks):
            return marks
        if time.monotonic() > deadline:
            pytest.fail(f"{page}: charts without drawn marks after {timeout:g} s: {marks}")
        time.sleep(0.25)


@pytest.mark.parametrize("page", PAGES, ids=[p.slug for p in PAGES])
def test_page_renders_its_charts_offline(site: Path, driver: WebDriver, page: Any) -> None:
    from selenium.webdriver.common.by import By

    driver.get((site / f"{page.slug}.html").as_uri())
    assert not driver.find_elements(By.ID, "page-error"), f"{page.slug} shows an error"
    marks = _wait_for_charts(driver, page.slug)
    assert len(marks) >= 1, f"{page.slug}: no chart"
    loaded = driver.find_element(By.ID, "loaded-at").text
    assert re.match(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}", loaded), f"{page.slug}: loaded at {loaded!r}"
    fetched = [url for url in driver.execute_script(RESOURCES) if not url.startswith("file:")]
    assert not fetched, f"{page.slug} fetched from the network: {fetched}"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(SCREENSHOTS / f"{page.slug}.png"))


def _marts_headline(database: Path) -> dict[str, dict[str, Any]]:
    """The overview's figures for its two months, straight from the marts."""
    connection = duckdb.connect(str(database), read_only=True)
    try:
        months = connection.execute(
            f"select distinct order_month from {MARTS}.monthly_revenue_by_state order by 1"
        ).fetchall()
        # The mart holds revenue orders only: its last month is that of the last revenue order.
        complete = [m for (m,) in months][:-1]
        figures = {}
        for label, month in (("current", complete[-1]), ("previous", complete[-2])):
            gmv = connection.execute(
                f"select sum(revenue_brl) from {MARTS}.monthly_revenue_by_category"
                " where order_month = ?",
                [month],
            ).fetchone()[0]
            orders, payments = connection.execute(
                f"select sum(count_orders), sum(payment_value_brl)"
                f" from {MARTS}.monthly_revenue_by_state where order_month = ?",
                [month],
            ).fetchone()
            late, delivered, review = connection.execute(
                "select sum(case when is_delivered_late and estimated_delivery_date is not null"
                " then 1 else 0 end), count(delivered_to_customer_at)"
                " filter (where estimated_delivery_date is not null), avg(review_score)"
                f" from {MARTS}.fct_orders where date_trunc('month', purchased_at) = ?",
                [month],
            ).fetchone()
            figures[label] = {
                "month": month,
                "gmv": Decimal(gmv),
                "orders": int(orders),
                "aov": Decimal(payments) / orders,
                # None where the month has no delivery or review yet: the tile says n/a.
                "late_share": late / delivered if delivered else None,
                "review": None if review is None else float(review),
            }
        return figures
    finally:
        connection.close()


def _shown(text: str) -> Decimal:
    return Decimal(re.sub(r"[^0-9.\-]", "", text))


def test_overview_tiles_show_the_marts_figures(
    site: Path, driver: WebDriver, real_duckdb_build: Path
) -> None:
    from selenium.webdriver.common.by import By

    driver.get((site / "index.html").as_uri())
    _wait_for_charts(driver, "index")
    tiles = {
        tile.get_attribute("data-metric"): tile.find_element(By.CLASS_NAME, "value").text
        for tile in driver.find_elements(By.CSS_SELECTOR, ".tile")
    }
    marts = _marts_headline(real_duckdb_build)
    current = marts["current"]
    month = current["month"].strftime("%Y-%m")
    assert month in driver.find_element(By.TAG_NAME, "main").text
    assert _shown(tiles["gmv"]) == round(current["gmv"], 2), tiles
    assert _shown(tiles["orders"]) == current["orders"], tiles
    assert _shown(tiles["aov"]) == round(current["aov"], 2), tiles
    if current["late_share"] is None:
        assert tiles["late_share"] == "n/a", tiles
    else:
        assert _shown(tiles["late_share"]) == round(Decimal(current["late_share"] * 100), 1)
    if current["review"] is None:
        assert tiles["review"] == "n/a", tiles
    else:
        assert _shown(tiles["review"]) == round(Decimal(current["review"]), 2), tiles
    change = driver.find_element(By.CSS_SELECTOR, '[data-metric="gmv"] .change').text
    growth = current["gmv"] / marts["previous"]["gmv"] - 1
    assert _shown(change) == round(growth * 100, 1), change
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(SCREENSHOTS / "overview-tiles.png"))


def test_exposures_point_at_the_built_pages(site: Path) -> None:
    exposures = yaml.safe_load((PROJECT_ROOT / "models/marts/_exposures.yml").read_text())
    by_name = {e["name"]: e for e in exposures["exposures"]}
    pages = {p.exposure: p for p in PAGES if p.exposure}
    assert set(by_name) == set(pages)
    for name, exposure in by_name.items():
        assert exposure["url"].endswith(f"}}}}/{pages[name].slug}.html"), exposure["url"]
        assert (site / f"{pages[name].slug}.html").is_file()
        assert "@" not in str(exposure["owner"]), exposure["owner"]


def test_a_page_without_data_fails_the_build(
    real_duckdb_build: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    database = tmp_path / "emptied.duckdb"
    shutil.copyfile(real_duckdb_build, database)
    with duckdb.connect(str(database)) as connection:
        # the mart (a view) replaced by a table of the same columns and no row
        connection.execute(
            f"create table {MARTS}.payment_mix_empty as "
            f"select * from {MARTS}.payment_mix_by_type limit 0"
        )
        connection.execute(f"drop view {MARTS}.payment_mix_by_type")
        connection.execute(f"alter table {MARTS}.payment_mix_empty rename to payment_mix_by_type")
        connection.execute(f"drop view {MARTS}.seller_performance")
    profiles = _profiles(tmp_path / "profiles")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("OLIST_DUCKDB_PATH", str(database))
        status = olist(
            [
                "dashboards",
                "--target",
                "duckdb",
                "--profiles-dir",
                str(profiles),
                "--output-dir",
                str(tmp_path / "site"),
            ]
        )
    assert status == 1
    error = capsys.readouterr().err
    assert "2 of 7 pages failed" in error, error
    assert "payment-mix.html: DashboardError: the query of payment-mix returned no rows" in error
    assert "seller-scorecard.html" in error
    for broken in ("payment-mix", "seller-scorecard"):
        text = (tmp_path / "site" / f"{broken}.html").read_text()
        assert 'id="page-error"' in text and "This page has no data" in text
    assert 'id="page-error"' not in (tmp_path / "site" / "index.html").read_text()


@pytest.mark.parametrize("dialect", ["duckdb", "postgres", "redshift"])
def test_page_queries_parse_on_every_engine(dialect: str) -> None:
    """The pages' SQL is plain enough for each warehouse (Redshift has no server here)."""
    import sqlglot

    for page in PAGES:
        sql = page.query(lambda table: f"{MARTS}.{table}")
        parsed = sqlglot.parse_one(sql, read=dialect)
        assert parsed.find(sqlglot.exp.Select) is not None, page.slug
        # date_trunc('month', x) round-trips: the one date function the pages use.
        rendered = parsed.sql(dialect=dialect).lower()
        if "date_trunc" in sql:
            assert "date_trunc" in rendered, (page.slug, dialect)
