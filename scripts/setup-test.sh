#!/usr/bin/env bash
# One-time test setup beyond pip packages. System services (PostgreSQL, Chromium) are
# handled by scripts/setup-postgres.sh and scripts/setup-browser.sh on every `make test`.
set -euo pipefail
echo "test setup: python test dependencies installed"
