#!/usr/bin/env bash
# Installs Debian's Chromium for the browser end-to-end suite (test/browser), only when missing.
# playwright-core drives it; playwright's own browser downloads cannot work without internet access.
# Idempotent: a machine that has /usr/bin/chromium is left alone.
set -euo pipefail

if [ -x /usr/bin/chromium ]; then
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "install-browser: no /usr/bin/chromium and no apt-get; install Chromium by hand" >&2
  exit 1
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "install-browser: installing chromium with apt-get" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq chromium >/dev/null
/usr/bin/chromium --version >&2 || true
