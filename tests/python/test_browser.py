"""The browser fixture itself: a local page is opened, waited for, read and photographed,
and a selector that never appears fails with a message naming it."""

from __future__ import annotations

from pathlib import Path

import pytest

from browser import Browser, BrowserError

pytestmark = pytest.mark.slow

PAGE = """<!doctype html>
<html><body>
<p id="before">loading</p>
<script>
  // The heading appears only after a delay, as in a page that renders from JSON.
  setTimeout(() => {
    const h = document.createElement("h1");
    h.id = "late";
    h.textContent = "orders: " + [3, 4].reduce((a, b) => a + b);
    document.body.appendChild(h);
  }, 300);
</script>
</body></html>
"""


def test_open_wait_read_and_screenshot(browser: Browser, tmp_path: Path) -> None:
    page = tmp_path / "page.html"
    page.write_text(PAGE)
    browser.open(page)
    assert browser.text("#late") == "orders: 7"
    assert browser.evaluate("new Promise(done => setTimeout(() => done(6 * 7), 50))") == 42
    shot = browser.screenshot("browser_fixture_selftest")
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_missing_selector_fails_clearly(browser: Browser, tmp_path: Path) -> None:
    page = tmp_path / "page.html"
    page.write_text(PAGE)
    browser.open(page)
    with pytest.raises(BrowserError, match=r"#never-there"):
        browser.wait_for_selector("#never-there", timeout=1)
