"""``torch.compile`` for the search supernet and the retrained network: the config key ``compile``.

Off by default, because on the machines measured it does not pay over a whole run:

- CPU (2 cores, torch 2.14, inductor): compiling the retrained PIB network (8 cells, C 36)
  took 171 s, and its compiled step was no faster than the eager channels-last one (3.11 s
  against 2.55 s per batch of 32); a 3-cell, 2-channel search supernet took 268 s to
  compile. A search or the quick demo is over before that pays back.
- GPU: not measured with this code (no GPU was available); try ``compile: true`` on long GPU
  runs (the paper's 600 retraining epochs), where launch overhead dominates small kernels.

Compilation is in place (``nn.Module.compile``), so parameter names, state dicts and
checkpoints are those of the eager module. Second-order DARTS with ``hvp: exact`` needs a
double backward pass, which compiled graphs do not support: that combination is refused.
"""

from __future__ import annotations

from torch import nn

#: the ``torch.compile`` backend (tests use ``eager`` to check the wiring without codegen).
BACKEND = "inductor"


def compile_module(module: nn.Module) -> nn.Module:
    """Compiles ``module``'s forward in place (its parameters and state dict keys unchanged)."""
    module.compile(backend=BACKEND)
    return module


def is_compiled(module: nn.Module) -> bool:
    return getattr(module, "_compiled_call_impl", None) is not None
