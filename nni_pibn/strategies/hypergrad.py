"""Second-order DARTS architecture gradient (Liu et al., 2019, eq. 6-8) as pure functions.

Notation: ``w`` the network weights, ``a`` the architecture logits,
``xi`` the weight learning rate of the current step, ``mu`` the SGD momentum, ``lam`` the
weight decay, ``m`` the SGD momentum buffer (zero before the first step).

The hypergradient of the validation loss through one virtual SGD step is

    grad_a L_val(w'(a), a) = dalpha - xi * grad^2_{a,w} L_train(w, a) . v

with ``w' = w - xi * (mu * m + grad_w L_train(w, a) + lam * w)``,
``dalpha = grad_a L_val(w', a)`` and ``v = grad_w' L_val(w', a)``. The mixed second
derivative ``grad^2_{a,w} L_train(w, a) . v`` (the "implicit" term) is computed either

- ``finite_difference`` (DARTS' eq. 8): a central difference of ``grad_a L_train`` along
  ``v`` around the ORIGINAL ``w``. Cheap in memory, but on this space ReLU signs and
  max-pool winners flip between ``w - Rv`` and ``w + Rv``, so the difference quotient is
  far from the derivative (cosine 0.1-0.45 with the exact term at DARTS' eps 0.01), and a
  smaller eps is worse (float32 round-off); or
- ``exact``: double backpropagation. ``grad_w L_train`` is kept differentiable from the
  virtual step, and ``grad_a <grad_w L_train(w, a), v>`` is one more backward pass through
  it: exact up to float round-off, for the memory of one retained graph.

The functions take closures ``loss(weights) -> scalar`` that evaluate a loss with the given
weight tensors substituted into the network (the architecture parameters stay live inside
the closure), so a test can compare them with exact double backpropagation.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import Tensor

#: how the implicit (mixed second-derivative) term is computed.
HVP_MODES = ("exact", "finite_difference")
#: ``weights -> scalar loss`` with those weight tensors substituted into the network.
LossFn = Callable[[Sequence[Tensor]], Tensor]
#: ``weights -> grad_a L(weights, a)`` for every architecture tensor.
AlphaGradFn = Callable[[Sequence[Tensor]], list[Tensor]]


def global_norm(tensors: Sequence[Tensor]) -> Tensor:
    """||t||_2 over all tensors together: sqrt(sum_i sum(t_i ** 2))."""
    return torch.sqrt(sum((t.detach() ** 2).sum() for t in tensors))  # type: ignore[arg-type]


def grads_or_zeros(loss: Tensor, inputs: Sequence[Tensor], **kwargs: bool) -> list[Tensor]:
    """``torch.autograd.grad`` where an input the loss does not depend on gets a zero gradient."""
    grads = torch.autograd.grad(loss, list(inputs), allow_unused=True, **kwargs)
    return [torch.zeros_like(x) if g is None else g for x, g in zip(inputs, grads)]


def virtual_step(
    weights: Sequence[Tensor],
    grads: Sequence[Tensor],
    momentum_buffers: Sequence[Tensor | None],
    *,
    lr: float,
    momentum: float,
    weight_decay: float,
) -> list[Tensor]:
    """One SGD step as ``torch.optim.SGD`` takes it (dampening 0, no Nesterov):

        w' = w - xi * (mu * m + g + lam * w)

    A missing momentum buffer (``None``, before the first real step) counts as zero.
    Returns new tensors; ``weights`` are not modified.
    """
    out = []
    for w, g, m in zip(weights, grads, momentum_buffers):
        d = g + weight_decay * w
        if m is not None and momentum:
            d = d + momentum * m
        out.append(w - lr * d)
    return out


def finite_difference_hvp(
    alpha_grad_at: AlphaGradFn,
    weights: Sequence[Tensor],
    v: Sequence[Tensor],
    *,
    eps: float = 0.01,
) -> list[Tensor]:
    """Central difference of ``grad_a L_train`` along ``v``, around the original weights:

        R = eps / ||v||,  w+- = w +- R v
        implicit = (grad_a L_train(w+, a) - grad_a L_train(w-, a)) / (2 R)

    which approximates the mixed second derivative ``grad^2_{a,w} L_train(w, a) . v`` with
    error O(R^2). ``v = 0`` gives a zero result (``||v||`` is clamped away from zero).
    """
    r = eps / global_norm(v).clamp_min(1e-12)
    plus = alpha_grad_at([w.detach() + r * d.detach() for w, d in zip(weights, v)])
    minus = alpha_grad_at([w.detach() - r * d.detach() for w, d in zip(weights, v)])
    return [(p - n) / (2 * r) for p, n in zip(plus, minus)]


def exact_hvp(train_grads: Sequence[Tensor], alphas: Sequence[Tensor], v: Sequence[Tensor]) -> list[Tensor]:
    """``grad_a <grad_w L_train(w, a), v>`` by double backpropagation, with ``v`` held constant.

    ``train_grads`` must be ``grad_w L_train(w, a)`` computed with ``create_graph=True``; the
    result is the mixed second derivative ``grad^2_{a,w} L_train(w, a) . v`` exactly.
    """
    terms = [(g * d.detach()).sum() for g, d in zip(train_grads, v) if g.requires_grad]
    if not terms:
        return [torch.zeros_like(a) for a in alphas]
    return grads_or_zeros(torch.stack(terms).sum(), alphas)


def unrolled_alpha_grad(
    train_loss: LossFn,
    val_loss: LossFn,
    weights: Sequence[Tensor],
    alphas: Sequence[Tensor],
    momentum_buffers: Sequence[Tensor | None],
    *,
    lr: float,
    momentum: float,
    weight_decay: float,
    hvp: str = "exact",
    eps: float = 0.01,
) -> tuple[list[Tensor], Tensor]:
    """Second-order DARTS gradient of the architecture:

    1. w' = virtual_step(w)  (w - xi * (mu * m + grad_w L_train(w, a) + lam * w))
    2. dalpha = grad_a L_val(w', a);  v = grad_w' L_val(w', a)
    3-5. implicit = grad^2_{a,w} L_train(w, a) . v, by ``hvp``: ``finite_difference``
         (:func:`finite_difference_hvp`, scale ``eps``) or ``exact`` (:func:`exact_hvp`)
    6. grad_a = dalpha - xi * implicit

    ``weights`` must require grad (step 1 differentiates through them); they are never
    modified. Returns ``grad_a`` (one tensor per alpha) and ``L_val(w', a)`` (detached).
    """
    if hvp not in HVP_MODES:
        raise ValueError(f"hvp must be one of {', '.join(HVP_MODES)}, got {hvp!r}")
    weights, alphas = list(weights), list(alphas)
    exact = hvp == "exact"
    g_train = grads_or_zeros(train_loss(weights), weights, create_graph=exact)
    with torch.no_grad():
        unrolled = virtual_step(
            weights, [g.detach() for g in g_train], momentum_buffers,
            lr=lr, momentum=momentum, weight_decay=weight_decay,
        )
    unrolled = [w.detach().requires_grad_(True) for w in unrolled]
    loss_val = val_loss(unrolled)
    grads = grads_or_zeros(loss_val, alphas + unrolled)
    dalpha, v = grads[: len(alphas)], grads[len(alphas):]
    del unrolled, grads

    if exact:
        implicit = exact_hvp(g_train, alphas, v)
    else:
        del g_train

        def alpha_grad_at(ws: Sequence[Tensor]) -> list[Tensor]:
            return grads_or_zeros(train_loss(ws), alphas)

        implicit = finite_difference_hvp(alpha_grad_at, weights, v, eps=eps)
    return [d - lr * h for d, h in zip(dalpha, implicit)], loss_val.detach()
