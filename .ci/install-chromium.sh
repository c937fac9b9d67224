#!/usr/bin/env bash
# Make a headless Chromium and its matching chromedriver available for the browser tests
# (tests/python/browser.py) and print two lines: the browser's path, then the driver's.
# Uses those already installed (CHROMIUM_BIN / CHROMEDRIVER_BIN, else chromium and
# chromedriver on PATH), else installs Debian's `chromium` and `chromium-driver` packages
# non-interactively (needs root or sudo). Debian builds the two from one source, so their
# versions always match, which is what chromedriver requires.
set -euo pipefail

first_on_path() {
    local candidate
    for candidate in "$@"; do
        [[ -n "$candidate" ]] || continue
        if command -v "$candidate" >/dev/null 2>&1; then
            command -v "$candidate"
            return 0
        fi
    done
    return 1
}

find_both() {
    browser=$(first_on_path "${CHROMIUM_BIN:-}" chromium chromium-browser) || return 1
    driver=$(first_on_path "${CHROMEDRIVER_BIN:-}" chromedriver) || return 1
}

if ! find_both; then
    SUDO=""
    if [[ "$(id -u)" != "0" ]]; then
        command -v sudo >/dev/null 2>&1 || {
            echo "chromium or chromedriver missing and not root: install chromium chromium-driver" >&2
            exit 1
        }
        SUDO="sudo"
    fi
    export DEBIAN_FRONTEND=noninteractive
    echo "installing Debian's chromium and chromium-driver packages" >&2
    # Quiet apt: its progress goes to stderr so that stdout is only the two paths.
    $SUDO apt-get update -qq >&2
    $SUDO apt-get install -y -qq --no-install-recommends chromium chromium-driver fonts-liberation >&2
    find_both || { echo "chromium or chromedriver still not on PATH after the install" >&2; exit 1; }
fi
echo "$browser"
echo "$driver"
