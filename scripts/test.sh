#!/usr/bin/env bash
# Sets everything up from nothing, lints (ruff, configured in ruff.toml), then runs the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup_env.sh
.venv/bin/ruff check .
exec .venv/bin/python -m pytest -q "$@"
