#!/usr/bin/env bash
# Sets everything up from nothing, then runs the main job on the offline default: the paper's
# search -> export -> retrain pipeline on the bundled digits data, as an NNI experiment
# (nnictl create --config experiments/quick.yml), followed to the end in the foreground.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup_env.sh
export PATH="$PWD/.venv/bin:$PATH"   # trials run 'nni-pibn' from this venv
exec nni-pibn experiment experiments/quick.yml --port "${PORT:-8080}"
