"""A headless Chromium for tests that open pages: the session fixture `browser`.

Selenium drives Debian's `chromium` through Debian's `chromedriver` (both installed by
.ci/install-chromium.sh when missing): the two packages come from one source, so the
driver always matches the browser, and nothing is downloaded at run time, whereas
Playwright expects a browser build of its own. Selenium Manager is never asked for
anything because both paths are given.

Use it from any test module (the plugin is registered in conftest.py):

    def test_page(browser: Browser) -> None:
        browser.open(PROJECT_ROOT / "some" / "page.html")    # or "http://127.0.0.1:PORT/"
        browser.wait_for_selector("h1")
        assert "Olist" in browser.text("h1")
        browser.screenshot("page")                           # test-output/page.png
"""

from __future__ import annotations

import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from selenium.webdriver.chrome.webdriver import WebDriver
    from selenium.webdriver.remote.webelement import WebElement

PROJECT_ROOT = Path(__file__).resolve().parents[2]
INSTALL_SCRIPT = PROJECT_ROOT / ".ci" / "install-chromium.sh"
SCREENSHOTS = PROJECT_ROOT / "test-output"
WINDOW = (1600, 1000)

# Chromium as root in a container: no sandbox, no GPU, /dev/shm may be tiny, and every
# background service (updates, sync, first-run pages) is off because its refused
# connections stall start-up on a machine without internet.
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-default-apps",
    "--disable-extensions",
    "--disable-sync",
    "--no-first-run",
    "--no-default-browser-check",
    "--mute-audio",
    "--hide-scrollbars",
)


class BrowserError(RuntimeError):
    """The browser could not be installed or started, or a page did not get ready."""


def find_or_install_chromium() -> tuple[str, str]:
    """Paths of chromium and chromedriver; installs Debian's packages through the CI script."""
    completed = subprocess.run(
        ["bash", str(INSTALL_SCRIPT)], capture_output=True, text=True, timeout=900, check=False
    )
    lines = completed.stdout.split()
    if completed.returncode != 0 or len(lines) < 2:
        raise BrowserError(
            f"{INSTALL_SCRIPT} failed (exit {completed.returncode}): {completed.stderr[-2000:]}"
        )
    return lines[-2], lines[-1]


class Browser:
    """One headless Chromium window; `driver` is the Selenium WebDriver for anything else."""

    def __init__(self, driver: WebDriver) -> None:
        self.driver = driver

    def open(self, page: str | Path) -> None:
        """Load an http(s) URL or a local file afresh.

        Going through about:blank first makes a URL that differs only in its #fragment
        reload the page instead of keeping the previous page's state.
        """
        url = page.resolve().as_uri() if isinstance(page, Path) else page
        self.driver.get("about:blank")
        self.driver.get(url)

    def wait_for_selector(self, css: str, timeout: float = 30) -> WebElement:
        """The first element matching a CSS selector, once it is displayed."""
        from selenium.common.exceptions import TimeoutException
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support import expected_conditions
        from selenium.webdriver.support.wait import WebDriverWait

        try:
            return WebDriverWait(self.driver, timeout).until(
                expected_conditions.visibility_of_element_located((By.CSS_SELECTOR, css))
            )
        except TimeoutException:
            raise BrowserError(
                f"no visible element matches {css!r} after {timeout:g} s "
                f"on {self.driver.current_url}"
            ) from None

    def text(self, css: str = "body", timeout: float = 30) -> str:
        """The rendered text of the first element matching css (waits for it)."""
        return self.wait_for_selector(css, timeout).text

    def evaluate(self, expression: str) -> Any:
        """Value of a JavaScript expression; a promise is awaited by the driver."""
        return self.driver.execute_script(f"return ({expression});")

    def wait_for(self, expression: str, timeout: float = 30, interval: float = 0.25) -> Any:
        """Poll a JavaScript expression until it is truthy; returns its value."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = self.evaluate(expression)
            if value:
                return value
            time.sleep(interval)
        raise BrowserError(f"timed out after {timeout:g} s waiting for: {expression}")

    def screenshot(self, name: str) -> Path:
        """Save the window as test-output/<name>.png and return its path."""
        path = SCREENSHOTS / f"{name}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        if not self.driver.save_screenshot(str(path)):
            raise BrowserError(f"the browser did not write the screenshot {path}")
        return path


def start_chromium(profile_dir: Path) -> WebDriver:
    """A new headless Chromium with a fresh profile in profile_dir."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    binary, driver_path = find_or_install_chromium()
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile_dir}")
    options.add_argument(f"--window-size={WINDOW[0]},{WINDOW[1]}")
    service = Service(executable_path=driver_path, log_output=subprocess.DEVNULL)
    return webdriver.Chrome(options=options, service=service)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """One headless Chromium for the whole session, closed at its end."""
    with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
        driver = start_chromium(Path(profile))
        try:
            yield Browser(driver)
        finally:
            driver.quit()
