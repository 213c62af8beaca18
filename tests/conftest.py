from __future__ import annotations

import os

import pytest
import torch

os.environ.setdefault("PYTHONWARNINGS", "ignore")
torch.set_num_threads(1)  # 2 spinning threads on a busy 2-core machine are 20-100x slower


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)
