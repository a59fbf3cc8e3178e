#!/usr/bin/env bash
# Installs Debian's Chromium (/usr/bin/chromium) and CJK fonts (screenshots of Chinese pages) for the Playwright browser tests; the
# Python package `playwright` drives it through executable_path (no browser download).
# Idempotent.
set -euo pipefail
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
if [ ! -x /usr/bin/chromium ] || ! fc-list 2>/dev/null | grep -qi "Noto Sans CJK"; then
  echo "installing chromium (apt-get)" >&2
  $SUDO apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium fonts-noto-cjk >&2
fi
/usr/bin/chromium --version >&2
