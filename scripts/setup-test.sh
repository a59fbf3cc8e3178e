#!/usr/bin/env bash
# Installs what the test suite needs beyond pip packages (system services come here as
# later issues need them: PostgreSQL, Chromium). Idempotent; safe to run on every `make test`.
set -euo pipefail
echo "test setup: python packages installed; no system services needed yet"
