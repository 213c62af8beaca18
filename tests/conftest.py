from __future__ import annotations

import os

import pytest
import torch

os.environ.setdefault("PYTHONWARNINGS", "ignore")
# one thread everywhere, subprocesses and NNI trials included: the resume tests compare runs
# bit for bit, and float reductions depend on the thread count
os.environ["OMP_NUM_THREADS"] = "1"
torch.set_num_threads(1)  # 2 spinning threads on a busy 2-core machine are 20-100x slower


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)
