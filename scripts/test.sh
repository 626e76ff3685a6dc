#!/usr/bin/env bash
# Install what the tests need (Chromium, CJK fonts, test packages) and run lint, types and the suite.
# Extra arguments go to pytest. Set DATABASE_URL to run against PostgreSQL; SKIP_LINT=1 skips lint.
source "$(dirname "$0")/lib.sh"

apt_install chromium fonts-noto-cjk
ensure_venv test
if [ "${SKIP_LINT:-0}" != "1" ]; then
  say "ruff"
  "$VENV/bin/ruff" check .
  say "mypy"
  "$VENV/bin/mypy" kefu
fi
say "pytest (${DATABASE_URL:-sqlite})"
"$VENV/bin/pytest" "$@"
