"""The second-order DARTS math against exact autograd (float64, tiny closed-form model)."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from nni_pibn.strategies.hypercheck import Darts2Check, reference_hypergradient, standalone_darts2, warm_up
from nni_pibn.strategies.hypergrad import (
    finite_difference_hvp,
    global_norm,
    unrolled_alpha_grad,
    virtual_step,
)

D, H, K, C, N = 5, 6, 3, 4, 8  # input dim, hidden, ops on the mixed edge, classes, batch


def _cos(a: list[torch.Tensor], b: list[torch.Tensor]) -> float:
    fa, fb = torch.cat([t.flatten() for t in a]), torch.cat([t.flatten() for t in b])
    return float(F.cosine_similarity(fa, fb, dim=0))


def _problem(seed: int = 0):
    """A mixed edge sum_k softmax(a)_k tanh(x W_k) followed by a linear head."""
    g = torch.Generator().manual_seed(seed)
    dt = torch.float64
    weights = [torch.randn(K, D, H, generator=g, dtype=dt), torch.randn(H, C, generator=g, dtype=dt)]
    weights = [w.requires_grad_(True) for w in weights]
    alpha = (torch.randn(K, generator=g, dtype=dt)).requires_grad_(True)
    batches = [(torch.randn(N, D, generator=g, dtype=dt), torch.randint(0, C, (N,), generator=g)) for _ in range(2)]

    def loss_on(batch):
        x, y = batch

        def loss(ws):
            hidden = torch.tanh(torch.einsum("nd,kdh->knh", x, ws[0]))
            mixed = torch.einsum("k,knh->nh", torch.softmax(alpha, 0), hidden)
            return F.cross_entropy(mixed @ ws[1], y)

        return loss

    buffers = [torch.randn_like(w) * 0.1 for w in weights]
    return weights, alpha, loss_on(batches[0]), loss_on(batches[1]), buffers


def _exact_hypergrad(train_loss, val_loss, weights, alphas, buffers, lr, mu, lam):
    """grad_a L_val(w - xi (mu m + grad_w L_train(w, a) + lam w), a) by double backprop."""
    g = torch.autograd.grad(train_loss(weights), weights, create_graph=True)
    unrolled = [w - lr * (mu * m + gi + lam * w) for w, gi, m in zip(weights, g, buffers)]
    return list(torch.autograd.grad(val_loss(unrolled), alphas))


def test_virtual_step_matches_torch_sgd() -> None:
    torch.manual_seed(0)
    p = torch.nn.Parameter(torch.randn(4, 3))
    opt = torch.optim.SGD([p], lr=0.1, momentum=0.9, weight_decay=3e-4)
    for _ in range(2):  # the second step has a momentum buffer
        p.grad = torch.randn_like(p)
        w, g = p.detach().clone(), p.grad.clone()
        m = opt.state[p].get("momentum_buffer")
        m = None if m is None else m.clone()
        expected = virtual_step([w], [g], [m], lr=0.1, momentum=0.9, weight_decay=3e-4)[0]
        opt.step()
        torch.testing.assert_close(p.detach(), expected, rtol=0, atol=1e-6)


def test_virtual_step_is_pure_and_zero_buffer_is_none() -> None:
    w, g = torch.ones(3), torch.full((3,), 2.0)
    out = virtual_step([w], [g], [None], lr=0.5, momentum=0.9, weight_decay=0.1)[0]
    torch.testing.assert_close(out, torch.full((3,), 1 - 0.5 * (2.0 + 0.1)))  # w - xi (g + lam w)
    torch.testing.assert_close(w, torch.ones(3))


def test_finite_difference_matches_exact_mixed_derivative() -> None:
    weights, alpha, train_loss, _, _ = _problem()
    v = [torch.randn_like(w) for w in weights]

    def alpha_grad_at(ws):
        return list(torch.autograd.grad(train_loss(ws), [alpha]))

    approx = finite_difference_hvp(alpha_grad_at, weights, v, eps=0.01)
    # exact grad_a (grad_w L . v) by double backward
    gw = torch.autograd.grad(train_loss(weights), weights, create_graph=True)
    exact = torch.autograd.grad(sum((a * b).sum() for a, b in zip(gw, v)), [alpha])
    torch.testing.assert_close(approx[0], exact[0], rtol=1e-4, atol=1e-7)
    assert float(global_norm(exact)) > 1e-3  # the check is not vacuous


def test_finite_difference_of_zero_direction_is_zero() -> None:
    weights, alpha, train_loss, _, _ = _problem()
    out = finite_difference_hvp(
        lambda ws: list(torch.autograd.grad(train_loss(ws), [alpha])), weights, [torch.zeros_like(w) for w in weights]
    )
    assert torch.count_nonzero(out[0]) == 0


@pytest.mark.parametrize("lr", [0.5, 2.0])
def test_unrolled_alpha_grad_matches_double_backprop(lr: float) -> None:
    weights, alpha, train_loss, val_loss, buffers = _problem(seed=1)
    kw = {"lr": lr, "momentum": 0.9, "weight_decay": 3e-4}
    before = [w.detach().clone() for w in weights]
    grads, loss = unrolled_alpha_grad(train_loss, val_loss, weights, [alpha], buffers, hvp="finite_difference", **kw)
    exact = _exact_hypergrad(train_loss, val_loss, weights, [alpha], buffers, lr, 0.9, 3e-4)
    assert _cos(grads, exact) >= 0.9999
    torch.testing.assert_close(grads[0], exact[0], rtol=1e-4, atol=1e-7)
    assert loss.ndim == 0 and not loss.requires_grad
    assert all(torch.equal(w, b) for w, b in zip(weights, before))


def test_dropping_the_implicit_term_is_detected() -> None:
    """The exact hypergradient differs from first order here, so the test above is meaningful."""
    weights, alpha, train_loss, val_loss, buffers = _problem(seed=1)
    exact = _exact_hypergrad(train_loss, val_loss, weights, [alpha], buffers, 2.0, 0.9, 3e-4)
    g = torch.autograd.grad(train_loss(weights), weights)
    with torch.no_grad():
        unrolled = [w - 2.0 * (0.9 * m + gi + 3e-4 * w) for w, gi, m in zip(weights, g, buffers)]
    first_order = torch.autograd.grad(val_loss(unrolled), [alpha])
    rel = (first_order[0] - exact[0]).norm() / exact[0].norm()
    assert rel > 0.05  # while unrolled_alpha_grad agrees to 1e-4


def test_exact_mode_matches_double_backprop_to_round_off() -> None:
    weights, alpha, train_loss, val_loss, buffers = _problem(seed=1)
    kw = {"lr": 2.0, "momentum": 0.9, "weight_decay": 3e-4}
    grads, _ = unrolled_alpha_grad(train_loss, val_loss, weights, [alpha], buffers, hvp="exact", **kw)
    exact = _exact_hypergrad(train_loss, val_loss, weights, [alpha], buffers, 2.0, 0.9, 3e-4)
    torch.testing.assert_close(grads[0], exact[0], rtol=1e-10, atol=1e-12)


def test_unknown_hvp_mode_is_refused() -> None:
    weights, alpha, train_loss, val_loss, buffers = _problem()
    with pytest.raises(ValueError, match="hvp must be one of"):
        unrolled_alpha_grad(train_loss, val_loss, weights, [alpha], buffers, lr=0.1, momentum=0.9,
                            weight_decay=0.0, hvp="taylor")


# ---- on the real PIB space: ReLU and max-pool kinks -------------------------------------------


def _pib_check(hvp: str) -> Darts2Check:
    """A float32 second-order DARTS module on a small PIB supernet, its SGD (with momentum state)."""
    check = standalone_darts2(hvp=hvp, op_set="pibn", channels=4, layers=3, nodes=2)
    g = torch.Generator().manual_seed(5)
    warm_up(check, [(torch.randn(8, 3, 16, 16, generator=g), torch.randint(0, 10, (8,), generator=g))])
    return check


def test_exact_hvp_on_the_pib_space_matches_a_float64_reference() -> None:
    g = torch.Generator().manual_seed(6)
    trn = torch.randn(8, 3, 16, 16, generator=g), torch.randint(0, 10, (8,), generator=g)
    val = torch.randn(8, 3, 16, 16, generator=g), torch.randint(0, 10, (8,), generator=g)
    cos = {}
    for hvp in ("exact", "finite_difference"):
        check = _pib_check(hvp)
        named = dict(check.module.training_module.named_parameters())
        name_of = {id(p): n for n, p in named.items()}
        assert [name_of[id(a)] for a in check.alphas] == [n for n, p in named.items()
                                                          if any(p is a for a in check.alphas)]
        reference = reference_hypergradient(check, trn, val)
        grads, _ = check.module._unrolled(trn, val, check.alphas, check.optimizer)
        cos[hvp] = _cos([g.double() for g in grads], reference)
    assert cos["exact"] >= 0.9999
    assert cos["exact"] > cos["finite_difference"]  # DARTS' difference quotient is measurably worse here
