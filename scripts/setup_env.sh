#!/usr/bin/env bash
# Creates .venv (if missing) and installs nni_pibn with its test extras. Idempotent.
# torch/torchvision are pinned to the releases this machine holds on disk (pip takes them
# from there); on other machines pip downloads the same releases.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q "torch==2.14.1" "torchvision==0.29.1"
.venv/bin/python -m pip install -q -e ".[dev]"
# NNI's ENAS controller needs tianshou 0.4.11 + gym; tianshou pins protobuf 3.19, which would
# break onnx, so they go in without their pins (the strategy 'enas' needs nothing else).
.venv/bin/python -m pip install -q --no-deps "tianshou==0.4.11" "gym==0.26.2" numba llvmlite h5py
# graphviz's `dot` draws the genotype diagrams (nni-pibn plot genotype).
if ! command -v dot >/dev/null 2>&1; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    (apt-get update -qq && apt-get install -y -qq graphviz >/dev/null) || echo "warning: could not install graphviz; 'plot genotype' needs its dot binary" >&2
  else
    echo "warning: graphviz's dot binary is missing; install it (e.g. apt-get install graphviz) for 'plot genotype'" >&2
  fi
fi
