"""Checking second-order DARTS' architecture gradient against the true hypergradient.

:func:`standalone_darts2` builds a ``darts2`` one-shot module on a PIB supernet outside any
Trainer, with the SGD of its weights, so that one architecture step can be called directly
(``check.module._unrolled(trn, val, check.alphas, check.optimizer)``).
:func:`reference_hypergradient` computes what that step approximates,
``grad_a L_val(w'(a), a)`` with ``w'`` DARTS' virtual SGD step (momentum and weight decay
included), by double backpropagation through the step on a float64 copy of the network:
code independent of the one it checks. Used by the exact-HVP test
(``tests/test_hypergrad.py``) and ``benchmarks/hvp.py``.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.func import functional_call

Batch = tuple[Tensor, Tensor]


@dataclass
class Darts2Check:
    module: Any  #: the darts2 one-shot module (``_unrolled`` is its architecture gradient)
    optimizer: torch.optim.SGD  #: SGD over the weights (not the alphas), momentum 0.9
    weights: list[tuple[str, nn.Parameter]]  #: the weights by name, in the optimizer's order
    alphas: list[nn.Parameter]  #: the architecture parameters, in the module's order


def standalone_darts2(hvp: str = "exact", fd_eps: float = 0.01, lr: float = 0.025, seed: int = 0,
                      **space: Any) -> Darts2Check:
    """A float32 ``darts2`` module (``hvp``, ``fd_eps``) on ``PIBSpace(**space)``, its weights
    initialised from ``seed``, and the SGD (``lr``, momentum 0.9, weight decay 3e-4) of its weights."""
    from ..search.config import SearchConfig
    from ..space import PIBSpace
    from . import SearchClassificationModule, build_strategy

    torch.manual_seed(seed)
    space = PIBSpace(**space)
    strategy = build_strategy("darts2", SearchConfig(hvp=hvp, fd_eps=fd_eps))
    strategy.mutate_model(space)
    module = strategy.configure_oneshot_module(SearchClassificationModule())
    module.set_model(space)
    alphas = module.arch_parameters()
    arch = set(alphas)
    weights = [(n, p) for n, p in module.training_module.named_parameters() if p not in arch]
    optimizer = torch.optim.SGD([p for _, p in weights], lr=lr, momentum=0.9, weight_decay=3e-4)
    return Darts2Check(module, optimizer, weights, alphas)


def warm_up(check: Darts2Check, batches: Iterable[Batch]) -> None:
    """One SGD step of the weights per batch, so that they and the momentum buffers are not
    at their initialisation."""
    for x, y in batches:
        check.optimizer.zero_grad()
        F.cross_entropy(check.module.training_module(x), y).backward()
        check.optimizer.step()


def reference_hypergradient(check: Darts2Check, trn: Batch, val: Batch) -> list[Tensor]:
    """``grad_a L_val(w'(a), a)`` per alpha (in ``check.alphas``' order), float64."""
    group = check.optimizer.param_groups[0]
    ref = copy.deepcopy(check.module.training_module).double()
    params = dict(ref.named_parameters())
    names = [n for n, _ in check.weights]
    weights = [params[n] for n in names]
    name_of = {id(p): n for n, p in check.module.training_module.named_parameters()}
    ref_alphas = [params[name_of[id(a)]] for a in check.alphas]

    def loss(batch: Batch, ws: list[Tensor]) -> Tensor:
        return F.cross_entropy(functional_call(ref, dict(zip(names, ws)), (batch[0].double(),)), batch[1])

    g = torch.autograd.grad(loss(trn, weights), weights, create_graph=True)
    momentum = [check.optimizer.state[p]["momentum_buffer"].double() for _, p in check.weights]
    unrolled = [w - group["lr"] * (group["momentum"] * m + gi + group["weight_decay"] * w)
                for w, gi, m in zip(weights, g, momentum)]
    return list(torch.autograd.grad(loss(val, unrolled), ref_alphas))
