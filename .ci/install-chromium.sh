#!/usr/bin/env bash
# Make a headless Chromium available for the docs browser test and print its path.
# Uses one already installed (CHROMIUM_BIN, chromium, chromium-browser, google-chrome),
# else installs Debian's `chromium` package non-interactively (needs root or sudo).
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

if find_browser; then
    exit 0
fi

SUDO=""
if [[ "$(id -u)" != "0" ]]; then
    command -v sudo >/dev/null 2>&1 || { echo "chromium missing and not root: install it" >&2; exit 1; }
    SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
echo "installing Debian's chromium package" >&2
# Quiet apt: its progress goes to stderr so that stdout is only the browser path.
$SUDO apt-get update -qq >&2
$SUDO apt-get install -y -qq --no-install-recommends chromium fonts-liberation >&2
find_browser
