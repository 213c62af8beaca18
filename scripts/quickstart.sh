#!/usr/bin/env bash
# Sets everything up from nothing, then runs the main job on the offline default.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup_env.sh
.venv/bin/nni-pibn profile --genotype pibn
.venv/bin/nni-pibn profile --genotype darts_v2
