"""The dbt docs site works in a real browser: it lists the project's models, and the
lineage of fct_order_items reaches the raw Olist sources and the exposures downstream.

The site is generated on the session's DuckDB build of the real files (dbt_fixtures),
served from its target folder by a local http.server thread and opened in headless
Chromium (the `browser` fixture of browser.py). A screenshot of the lineage graph is kept
in test-output/docs_lineage_fct_order_items.png.
"""

from __future__ import annotations

import functools
import http.server
import json
import shutil
import threading
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from browser import Browser
from dbt_cli import PROJECT_ROOT, load_json, run_dbt, write_profiles
from model_quality import catalog_offences, report

pytestmark = pytest.mark.slow

MART = "model.olist_elt.fct_order_items"
SCREENSHOT = "docs_lineage_fct_order_items"
# Resource types the docs lineage graph draws (tests and macros are not drawn).
GRAPH_PREFIXES = ("model.", "source.", "seed.", "snapshot.", "exposure.")
APP = "angular.element(document.body).injector()"


@dataclass(frozen=True)
class DocsSite:
    target: Path
    manifest: dict[str, Any]
    catalog: dict[str, Any]


@pytest.fixture(scope="module")
def docs_site(
    real_duckdb_build: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> DocsSite:
    """`dbt docs generate` on a copy of the session's built warehouse (real data)."""
    work = tmp_path_factory.mktemp("docs_site")
    # A copy: the catalog query needs the file to itself, other tests may hold it open.
    database = work / "olist.duckdb"
    shutil.copy2(real_duckdb_build, database)
    profiles = write_profiles(work / "profiles", database)
    target = work / "target"
    run_dbt(
        "docs",
        "generate",
        project_dir=PROJECT_ROOT,
        profiles_dir=profiles,
        target_path=target,
        env={"DBT_LOG_PATH": str(work / "logs")},
    ).check()
    return DocsSite(target, load_json(target / "manifest.json"), load_json(target / "catalog.json"))


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def served_docs(docs_site: DocsSite) -> Iterator[str]:
    """The docs site on a free loopback port; yields its base URL."""
    handler = functools.partial(_QuietHandler, directory=str(docs_site.target))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def _walk(graph: dict[str, list[str]], start: str) -> set[str]:
    seen, queue = {start}, deque([start])
    while queue:
        for other in graph.get(queue.popleft(), []):
            if other not in seen:
                seen.add(other)
                queue.append(other)
    return seen


def _drawn(ids: set[str]) -> set[str]:
    return {uid for uid in ids if uid.startswith(GRAPH_PREFIXES)}


def _open(browser: Browser, url: str) -> None:
    """Load url afresh and wait for the app to have read the manifest and catalog."""
    browser.open(url)
    browser.wait_for(f"typeof angular !== 'undefined' && !!{APP}", timeout=30)
    browser.wait_for(
        f"new Promise(done => {APP}.get('project').ready(() => done(true)))", timeout=30
    )


def _drawn_lineage(browser: Browser, selector: str, timeout: float = 30) -> set[str]:
    """unique_ids of the nodes the lineage graph draws once `selector` is applied.

    The app draws the whole graph first and then narrows it to the selection, so wait
    for the selection to be in force and for the drawn set to hold still.
    """
    browser.wait_for(
        f"{APP}.get('selectorService').selection.clean.include === {json.dumps(selector)}",
        timeout=timeout,
    )
    nodes_js = (
        f"({APP}.get('graph').graph.elements || [])"
        ".filter(e => !e.data.source).map(e => e.data.unique_id || e.data.id)"
    )
    deadline = time.monotonic() + timeout
    previous: set[str] | None = None
    while time.monotonic() < deadline:
        current = set(browser.evaluate(nodes_js) or [])
        if current and current == previous:
            return current
        previous = current
        time.sleep(0.5)
    raise AssertionError(f"the lineage graph for {selector} did not settle in {timeout:g} s")


def test_site_lists_every_model(docs_site: DocsSite, served_docs: str, browser: Browser) -> None:
    _open(browser, f"{served_docs}/#!/model/{MART}")
    models = {
        uid for uid, node in docs_site.manifest["nodes"].items() if node["resource_type"] == "model"
    }
    loaded = set(
        browser.evaluate(
            f"Object.values({APP}.get('project').project.nodes)"
            ".filter(n => n.resource_type === 'model').map(n => n.unique_id)"
        )
    )
    assert loaded == models, f"models missing from the site: {sorted(models - loaded)}"
    # The model page itself: title, a column from the catalog, its parents by name.
    text = browser.wait_for(
        "document.body.innerText.includes('Depends On') && document.body.innerText", timeout=20
    )
    parents = [
        docs_site.manifest["nodes"][uid]["name"]
        for uid in docs_site.manifest["parent_map"][MART]
        if uid.startswith("model.")
    ]
    expected_text = ["fct_order_items", "order_item_key", *parents]
    missing = [word for word in expected_text if word not in text]
    assert not missing, f"the fct_order_items page does not show {missing}"


def test_lineage_of_fct_order_items_reaches_sources_and_exposures(
    docs_site: DocsSite, served_docs: str, browser: Browser
) -> None:
    manifest = docs_site.manifest
    ancestors = _walk(manifest["parent_map"], MART)
    descendants = _walk(manifest["child_map"], MART)
    expected = _drawn(ancestors | descendants)
    raw_sources = {uid for uid in ancestors if uid.startswith("source.olist_elt.olist.")}
    assert raw_sources, f"the manifest has no raw source upstream of {MART}"
    assert manifest["exposures"], "the project declares no exposures"

    _open(browser, f"{served_docs}/#!/model/{MART}?g_v=1&g_i=%2Bfct_order_items%2B")
    drawn = _drawn_lineage(browser, "+fct_order_items+")
    browser.screenshot(SCREENSHOT)

    assert raw_sources <= drawn, f"sources not in the lineage: {sorted(raw_sources - drawn)}"
    assert _drawn(drawn) == expected, (
        f"missing from the lineage graph: {sorted(expected - drawn)}\n"
        f"drawn but not related to {MART}: {sorted(_drawn(drawn) - expected)}"
    )
    exposures = {uid for uid in expected if uid.startswith("exposure.")}
    assert exposures, f"no exposure downstream of {MART}"
    assert exposures <= drawn


def test_every_built_column_is_documented(docs_site: DocsSite) -> None:
    """The catalog lists what was really built: every such column has a YAML entry."""
    offences = catalog_offences(docs_site.manifest, docs_site.catalog)
    assert not offences, f"{len(offences)} undocumented column(s):\n{report(offences)}"
