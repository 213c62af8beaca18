"""The edge-batched supernet: batched ops equal their per-edge ops, and the fused cell
computes NNI's DifferentiableMixedCell exactly (loss, every weight and alpha gradient)."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from nni_pibn.nni_compat import DifferentiableMixedCell
from nni_pibn.ops.sets import OP_SETS, op_factories
from nni_pibn.search.config import SearchConfig
from nni_pibn.space import PIBSpace
from nni_pibn.strategies import SearchClassificationModule, build_strategy
from nni_pibn.strategies.export import DartsRuleMixedCell
from nni_pibn.supernet import FusedMixedCell, LoopedOp, batch_op, batch_or_loop, unbatch_state

OPS = [(s, op) for s in OP_SETS.names() for op in op_factories(s)]


def _blocks(t: torch.Tensor, n: int) -> list[torch.Tensor]:
    return list(t.chunk(n, 1))


@pytest.mark.parametrize("stride", [1, 2])
@pytest.mark.parametrize("affine", [False, True])
@pytest.mark.parametrize(("op_set", "op"), OPS, ids=[f"{s}-{o}" for s, o in OPS])
def test_batched_op_equals_its_per_edge_ops(op_set: str, op: str, stride: int, affine: bool) -> None:
    torch.manual_seed(0)
    E, C = 3, 4
    mods = [op_factories(op_set)[op](C, stride, affine).double().train() for _ in range(E)]
    for m in mods:  # distinct non-trivial affine parameters and running stats per edge
        for p in m.parameters():
            p.data.normal_()
    batched = batch_op(mods).double().train()
    xs = [torch.randn(2, C, 9, 9, dtype=torch.float64, requires_grad=True) for _ in range(E)]
    x = torch.cat([t.detach() for t in xs], 1).requires_grad_()
    out = batched(x)
    for got, m, xe in zip(_blocks(out, E), mods, xs):
        torch.testing.assert_close(got, m(xe), rtol=1e-10, atol=1e-10)
    # running statistics updated as the per-edge ones were, and every gradient is the per-edge one
    for name, t in batched.state_dict().items():
        for e, part in enumerate(unbatch_state({name: t}, E)):
            torch.testing.assert_close(part[name], mods[e].state_dict()[name], rtol=1e-10, atol=1e-10)
    g = torch.randn_like(out)
    out.backward(g)
    for m, xe, ge in zip(mods, xs, _blocks(g, E)):
        m(xe).backward(ge)  # train-mode BN: same batch statistics, same gradients
    for got, xe in zip(_blocks(x.grad, E), xs):
        torch.testing.assert_close(got, xe.grad, rtol=1e-9, atol=1e-9)
    grads = {n: p.grad for n, p in batched.named_parameters()}
    for e, part in enumerate(unbatch_state(grads, E)):
        for n, p in mods[e].named_parameters():
            torch.testing.assert_close(part[n], p.grad, rtol=1e-9, atol=1e-9)


def test_an_op_without_a_rule_runs_per_edge() -> None:
    class Doubler(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return 2 * x + 1

    mods = [nn.Sequential(nn.Conv2d(2, 2, 1), Doubler()) for _ in range(2)]
    looped = batch_or_loop(mods)
    assert isinstance(looped, LoopedOp)
    x = torch.randn(1, 4, 5, 5)
    torch.testing.assert_close(looped(x), torch.cat([mods[0](x[:, :2]), mods[1](x[:, 2:])], 1))


def test_ops_with_different_settings_are_not_batched() -> None:
    mods = [nn.Conv2d(2, 2, 3, stride=1, padding=1), nn.Conv2d(2, 2, 3, stride=2, padding=1)]
    assert isinstance(batch_or_loop(mods), LoopedOp)


# ---- the fused cell against NNI's ------------------------------------------------------------


def _spaces(op_set: str, order: str, dtype: torch.dtype):
    """The same supernet relaxed by NNI's cell and by the fused cell (same seed: same weights)."""
    out = []
    for fused in (False, True):
        torch.manual_seed(0)
        space = PIBSpace(op_set=op_set, channels=4, layers=4, nodes=3)
        cfg = SearchConfig(strategy=order, fused_cell=fused)  # darts2: hvp exact, the default
        strategy = build_strategy(order, cfg)
        strategy.mutate_model(space)
        module = strategy.configure_oneshot_module(SearchClassificationModule())
        module.set_model(space)
        module.to(dtype)
        out.append(module)
    return out


def _nni_named_grads(module) -> dict[str, torch.Tensor]:
    return {n: p.grad for n, p in module.training_module.named_parameters() if p.grad is not None}


def _fused_grads_as_nni(module) -> dict[str, torch.Tensor]:
    """The fused supernet's gradients under NNI's per-edge parameter names."""
    out: dict[str, torch.Tensor] = {}
    for name, m in module.training_module.named_modules():
        if not isinstance(m, FusedMixedCell):
            continue
        for group in m.groups:
            for k, op_name in enumerate(m.op_names):
                grads = {n: p.grad for n, p in group.ops[k].named_parameters()}
                for (i, j), part in zip(group.edges, unbatch_state(grads, len(group.edges))):
                    for n, g in part.items():
                        out[f"{name}.ops.{i - m.num_predecessors}.{j}.{op_name}.{n}"] = g
    for n, p in module.training_module.named_parameters():
        if ".groups." not in n and p.grad is not None:
            out[n] = p.grad
    return out


@pytest.mark.parametrize("op_set", ["pibn", "darts"])
def test_fused_cell_first_order_equals_nni_cell(op_set: str) -> None:
    nni, fused = _spaces(op_set, "darts", torch.float32)
    assert any(type(m) is DartsRuleMixedCell for m in nni.modules())
    assert any(isinstance(m, FusedMixedCell) for m in fused.modules())
    g = torch.Generator().manual_seed(1)
    x, y = torch.randn(4, 3, 16, 16, generator=g), torch.randint(0, 10, (4,), generator=g)
    losses = []
    for module in (nni, fused):
        module.train()
        loss = F.cross_entropy(module.training_module(x), y)
        loss.backward()
        losses.append(loss.detach())
    torch.testing.assert_close(losses[1], losses[0], rtol=1e-5, atol=1e-6)
    want, got = _nni_named_grads(nni), _fused_grads_as_nni(fused)
    assert set(got) == set(want) and len(want) > 100
    for name, g_want in want.items():
        torch.testing.assert_close(got[name], g_want, rtol=1e-5, atol=1e-5, msg=name)
    assert any("_arch_alpha" in n for n in want)  # the alphas are among the compared gradients


@pytest.mark.parametrize("op_set", ["pibn", "darts"])
def test_fused_cell_second_order_equals_nni_cell(op_set: str) -> None:
    nni, fused = _spaces(op_set, "darts2", torch.float64)
    g = torch.Generator().manual_seed(2)
    trn = torch.randn(4, 3, 16, 16, generator=g, dtype=torch.float64), torch.randint(0, 10, (4,), generator=g)
    val = torch.randn(4, 3, 16, 16, generator=g, dtype=torch.float64), torch.randint(0, 10, (4,), generator=g)
    result = []
    for module in (nni, fused):
        module.train()
        alphas = module.arch_parameters()
        arch = set(alphas)
        weights = [p for p in module.training_module.parameters() if p not in arch]
        opt = torch.optim.SGD(weights, lr=0.1, momentum=0.9, weight_decay=3e-4)
        grads, loss = module._unrolled(trn, val, alphas, opt)
        names = {id(p): n for n, p in module.training_module.named_parameters()}
        result.append(({names[id(a)]: gr for a, gr in zip(alphas, grads)}, loss))
    (want, loss_want), (got, loss_got) = result
    torch.testing.assert_close(loss_got, loss_want, rtol=1e-10, atol=1e-10)
    assert set(got) == set(want)
    for name in want:
        torch.testing.assert_close(got[name], want[name], rtol=1e-5, atol=1e-8, msg=name)


def test_one_softmax_per_cell_type_per_forward_pass() -> None:
    torch.manual_seed(0)
    space = PIBSpace(channels=2, layers=5, nodes=2)
    build_strategy("darts").mutate_model(space)
    cells = [m for m in space.modules() if isinstance(m, FusedMixedCell)]
    calls: list[str] = []

    class Counted(nn.Softmax):
        def __init__(self, label: str) -> None:
            super().__init__(-1)
            self.label = label

        def forward(self, logits: torch.Tensor) -> torch.Tensor:
            calls.append(self.label)
            return super().forward(logits)

    for cell in cells:
        cell._softmax = Counted(cell.label)
    space(torch.randn(2, 3, 8, 8))
    assert len(cells) == 5 and sorted(calls) == ["normal", "reduce"]
    calls.clear()
    cells[0]([torch.randn(2, 6, 8, 8), torch.randn(2, 6, 8, 8)])  # outside a pass: its own softmax
    space(torch.randn(2, 3, 8, 8))
    assert sorted(calls) == ["normal", "normal", "reduce"]


def test_gumbel_draws_its_own_sample_in_every_cell() -> None:
    torch.manual_seed(0)
    space = PIBSpace(channels=2, layers=4, nodes=2)
    build_strategy("gumbel_darts").mutate_model(space)
    normals = [m for m in space.modules() if isinstance(m, FusedMixedCell) and m.label == "normal"]
    assert len(normals) == 2 and not normals[0]._deterministic
    seen = []
    for cell in normals:
        cell.register_forward_hook(lambda m, a, o: seen.append(m.edge_weights().detach()))
    space(torch.randn(2, 3, 8, 8))
    assert not torch.equal(seen[0], seen[1])


def test_fused_cell_is_nni_differentiable_cell_for_export() -> None:
    torch.manual_seed(0)
    space = PIBSpace(channels=2, layers=3, nodes=2)
    build_strategy("darts").mutate_model(space)
    cell = next(m for m in space.modules() if isinstance(m, FusedMixedCell))
    assert isinstance(cell, DifferentiableMixedCell)
    assert len(cell.ops) == 0 and sum(len(g.edges) for g in cell.groups) == len(cell._arch_alpha)


def test_free_op_dropout_touches_only_parameter_free_ops_and_only_in_training() -> None:
    torch.manual_seed(0)
    space = PIBSpace(channels=2, layers=3, nodes=2)
    build_strategy("darts", SearchConfig(strategy="darts", free_op_dropout=0.5, epochs=3)).mutate_model(space)
    cells = [m for m in space.modules() if isinstance(m, FusedMixedCell)]
    x = torch.randn(4, 3, 8, 8)
    space.eval()
    ref = space(x)
    for c in cells:
        c.free_op_dropout = 0.9
    torch.testing.assert_close(space(x), ref)  # eval: no dropout
    space.train()
    torch.manual_seed(1)
    with_drop = space(x)
    for c in cells:
        c.free_op_dropout = 0.0
    torch.manual_seed(1)
    without = space(x)
    assert not torch.allclose(with_drop, without)
    # with every parameter-free op's weight at zero, dropout on them changes nothing
    with torch.no_grad():
        for c in cells:
            for k in range(len(c.op_names)):
                if any(g.free[k] for g in c.groups):
                    for a in c._arch_alpha.values():
                        a[k] = -1e4
    for c in cells:
        c.free_op_dropout = 0.0
    torch.manual_seed(2)
    a = space(x)
    for c in cells:
        c.free_op_dropout = 0.9
    torch.manual_seed(2)
    torch.testing.assert_close(space(x), a)


def test_compiled_search_computes_what_the_eager_one_does(monkeypatch) -> None:
    """compile=True runs the supernet through torch.compile (the eager backend here: the same
    wiring without minutes of code generation); losses and alphas match the eager search."""
    from nni_pibn import compiling
    from nni_pibn.compiling import is_compiled

    monkeypatch.setattr(compiling, "BACKEND", "eager")
    torch._dynamo.reset()
    from nni.nas.evaluator.pytorch import DataLoader
    from torch.utils.data import TensorDataset

    from nni_pibn.strategies import build_search_evaluator, edge_weights_of, run_search

    g = torch.Generator().manual_seed(0)
    data = TensorDataset(torch.randn(8, 3, 8, 8, generator=g), torch.randint(0, 10, (8,), generator=g))
    trainer = {"accelerator": "cpu", "max_epochs": 1, "limit_train_batches": 2, "enable_checkpointing": False,
               "logger": False, "enable_progress_bar": False, "enable_model_summary": False}
    alphas = []
    for compile in (False, True):
        torch.manual_seed(0)
        space = PIBSpace(channels=2, layers=3, nodes=2)
        evaluator = build_search_evaluator(DataLoader(data, batch_size=4), DataLoader(data, batch_size=4), trainer)
        run_search(build_strategy("darts"), space, evaluator, seed=0, compile=compile)
        assert is_compiled(space) == compile
        alphas.append(edge_weights_of(space))
    for edge, weights in alphas[0].items():
        assert alphas[1][edge] == pytest.approx(weights, rel=1e-4)
