#!/usr/bin/env bash
# Make a headless Chromium and its chromedriver available for the browser tests and print
# the browser's path. Uses a browser already installed (CHROMIUM_BIN, chromium,
# chromium-browser, google-chrome) when chromedriver is there too, else installs Debian's
# `chromium` and `chromium-driver` packages non-interactively (needs root or sudo); the
# driver's version always matches Debian's browser.
set -euo pipefail

find_browser() {
    local candidate
    for candidate in "${CHROMIUM_BIN:-}" chromium chromium-browser google-chrome google-chrome-stable; do
        [[ -n "$candidate" ]] || continue
        if command -v "$candidate" >/dev/null 2>&1; then
            command -v "$candidate"
            return 0
        fi
    done
    return 1
}

if command -v chromedriver >/dev/null 2>&1 && find_browser; then
    exit 0
fi

SUDO=""
if [[ "$(id -u)" != "0" ]]; then
    command -v sudo >/dev/null 2>&1 || { echo "chromium missing and not root: install it" >&2; exit 1; }
    SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
echo "installing Debian's chromium and chromium-driver packages" >&2
# Quiet apt: its progress goes to stderr so that stdout is only the browser path.
$SUDO apt-get update -qq >&2
$SUDO apt-get install -y -qq --no-install-recommends chromium chromium-driver fonts-liberation >&2
find_browser
