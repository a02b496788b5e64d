#!/usr/bin/env bash
# Make sure Debian's Chromium is at /usr/bin/chromium for the browser tests (tests/test_web.py,
# Playwright with its executable path set: Playwright's own browser download is not used).
# Idempotent; installs the `chromium` package with apt-get when it is missing (needs root or
# passwordless sudo).
set -euo pipefail

say() { echo "ensure_chromium: $*"; }

if [ -x /usr/bin/chromium ]; then
    say "$(/usr/bin/chromium --version 2>/dev/null || echo chromium) is installed"
    exit 0
fi
run=()
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || { say "need root (or sudo) to install chromium" >&2; exit 1; }
    run=(sudo -n)
fi
say "installing Debian's chromium"
"${run[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
"${run[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium fonts-dejavu-core
say "$(/usr/bin/chromium --version)"
