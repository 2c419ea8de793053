#!/usr/bin/env bash
# setup.sh: installs what the browser tests need, skipping what is there:
# Debian's chromium, nodejs, npm and a CJK font (apt-get, as root or with sudo), then
# playwright-core from package-lock.json into tests/browser/node_modules.
# Playwright's own browser download is skipped: the tests drive
# /usr/bin/chromium.
set -euo pipefail
cd "$(dirname "$0")"
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
missing=""
command -v chromium >/dev/null 2>&1 || missing="$missing chromium"
command -v node >/dev/null 2>&1 || missing="$missing nodejs"
command -v npm >/dev/null 2>&1 || missing="$missing npm"
# A CJK font, so the zh-CN pages' screenshots show text rather than boxes.
dpkg -s fonts-wqy-microhei >/dev/null 2>&1 || missing="$missing fonts-wqy-microhei"
if [ -n "$missing" ]; then
  echo "test-browser: installing$missing"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing
fi
if [ ! -d node_modules/playwright-core ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error
fi
