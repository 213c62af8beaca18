"""Strategies on a tiny PIB space: second-order DARTS, DARTS-rule export, the registry."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import pytorch_lightning as pl
import torch
import torch.nn.functional as F
from nni.nas.evaluator.pytorch import DataLoader
from nni.nas.oneshot.pytorch.supermodule.differentiable import DifferentiableMixedCell
from pytorch_lightning.callbacks import ModelCheckpoint
from torch.func import functional_call
from torch.utils.data import TensorDataset

from nni_pibn.errors import UserError
from nni_pibn.genotype import from_nni
from nni_pibn.space import PIBSpace
from nni_pibn.strategies import (
    ONE_SHOT,
    STRATEGIES,
    AlphaHistory,
    DartsSecondOrder,
    SearchClassificationModule,
    build_search_evaluator,
    build_strategy,
    darts_rule_export,
    edge_weights,
    run_search,
)
from nni_pibn.strategies.export import DartsRuleMixedCell
from nni_pibn.strategies.registry import names_in

ONE_SHOT_NAMES = names_in(ONE_SHOT)
DIFFERENTIABLE = [n for n in ONE_SHOT_NAMES if STRATEGIES.get(n).differentiable]


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """Tiny tensors: one intra-op thread; two spin-wait badly when the other core is busy."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


TRAINER = {
    "accelerator": "cpu", "max_epochs": 1, "limit_train_batches": 2, "enable_checkpointing": False,
    "logger": False, "enable_progress_bar": False, "enable_model_summary": False,
}


def _batch(seed: int, dtype: torch.dtype = torch.float32, n: int = 4, size: int = 8):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, 3, size, size, generator=g, dtype=dtype), torch.randint(0, 10, (n,), generator=g)


def _evaluator(**trainer_kwargs):
    x, y = _batch(0, n=8)
    data = TensorDataset(x, y)
    loaders = [DataLoader(data, batch_size=4) for _ in range(2)]
    return build_search_evaluator(*loaders, {**TRAINER, **trainer_kwargs})


def _cell_alphas(space: torch.nn.Module) -> tuple[dict[str, torch.Tensor], list[str]]:
    alphas, names = {}, []
    for m in space.modules():
        if isinstance(m, DifferentiableMixedCell):
            alphas.update(m._arch_alpha.items())
            names = m.op_names
    return alphas, names


class _AlphaSnapshot(pl.Callback):
    def on_train_start(self, trainer, pl_module) -> None:
        # sampling strategies have no architecture parameters
        self.params = pl_module.arch_parameters() if hasattr(pl_module, "arch_parameters") else []
        self.start = [p.detach().clone() for p in self.params]


# ---- second-order DARTS on the real space ------------------------------------------------


def _darts2_setup(lr: float, hvp: str = "finite_difference"):
    """A float64 darts2 module on PIBSpace(2 ch, 3 cells, 2 nodes) and an SGD with momentum state."""
    torch.manual_seed(0)
    space = PIBSpace(channels=2, layers=3, nodes=2)
    strategy = DartsSecondOrder(hvp=hvp)
    strategy.mutate_model(space)
    module = strategy.configure_oneshot_module(SearchClassificationModule())
    module.set_model(space)
    module.double()
    alphas = module.arch_parameters()
    arch = set(alphas)
    named = [(n, p) for n, p in module.training_module.named_parameters() if p not in arch]
    opt = torch.optim.SGD([p for _, p in named], lr=lr, momentum=0.9, weight_decay=3e-4)
    x, y = _batch(1, torch.float64)
    F.cross_entropy(module.training_module(x), y).backward()
    opt.step()  # fills momentum buffers
    return module, opt, named, alphas


def _exact_hypergrad(module, opt, named, alphas, trn, val):
    group = opt.param_groups[0]
    lr, mu, lam = group["lr"], group["momentum"], group["weight_decay"]
    names, weights = [n for n, _ in named], [p for _, p in named]

    def loss(batch, ws):
        out = functional_call(module.training_module, dict(zip(names, ws)), (batch[0],))
        return F.cross_entropy(out, batch[1])

    g = torch.autograd.grad(loss(trn, weights), weights, create_graph=True)
    unrolled = [
        w - lr * (mu * opt.state[w]["momentum_buffer"] + gi + lam * w) for w, gi in zip(weights, g)
    ]
    return torch.autograd.grad(loss(val, unrolled), alphas)


def test_darts2_alpha_grad_matches_exact_hypergradient() -> None:
    module, opt, named, alphas = _darts2_setup(lr=0.5)
    # float64 allows a tiny finite-difference step; DARTS' eps 0.01 is too coarse for a
    # 2-channel BN net on 4 images (its O(R^2) error dominates there).
    module.eps = 1e-5
    trn, val = _batch(2, torch.float64), _batch(3, torch.float64)
    module.unrolled_backward(trn, val, opt)
    ours = torch.cat([a.grad.flatten() for a in alphas])
    exact = torch.cat([g.flatten() for g in _exact_hypergrad(module, opt, named, alphas, trn, val)])
    assert F.cosine_similarity(ours, exact, dim=0) >= 0.999
    # first order (grad_a L_val at w') is measurably different, so the comparison has teeth
    for a in alphas:
        a.grad = None
    xi = opt.param_groups[0]["lr"]
    with torch.no_grad():
        opt.param_groups[0]["lr"] = 1e-12  # xi -> 0 kills the implicit term
    module.unrolled_backward(trn, val, opt)
    opt.param_groups[0]["lr"] = xi
    first = torch.cat([a.grad.flatten() for a in alphas])
    assert (first - exact).norm() / exact.norm() > 5 * (ours - exact).norm() / exact.norm()


@pytest.mark.parametrize("hvp", ["exact", "finite_difference"])
def test_darts2_arch_step_leaves_weights_buffers_and_optimizer_untouched(hvp: str) -> None:
    module, opt, named, alphas = _darts2_setup(lr=0.025, hvp=hvp)
    tm = module.training_module
    for _, p in named:
        p.grad = torch.randn_like(p)
    state = {k: v.clone() for k, v in tm.state_dict().items() if "_arch_alpha" not in k}
    grads = [p.grad.clone() for _, p in named]
    momentum = [opt.state[p]["momentum_buffer"].clone() for _, p in named]
    assert any("running_mean" in k for k in state) and any("num_batches_tracked" in k for k in state)
    module.unrolled_backward(_batch(2, torch.float64), _batch(3, torch.float64), opt)
    after = tm.state_dict()
    assert all(torch.equal(after[k], v) for k, v in state.items())
    assert all(torch.equal(p.grad, g) for (_, p), g in zip(named, grads))
    assert all(torch.equal(opt.state[p]["momentum_buffer"], m) for (_, p), m in zip(named, momentum))
    assert all(a.grad is not None and a.grad.abs().sum() > 0 for a in alphas)


def test_darts2_uses_search_optimizers_and_clips_weight_gradients() -> None:
    norms: list[float] = []

    class GradNorm(pl.Callback):
        def on_before_optimizer_step(self, trainer, pl_module, optimizer) -> None:
            if not getattr(optimizer, "is_arch_optimizer", False):
                grads = [p.grad for g in optimizer.param_groups for p in g["params"] if p.grad is not None]
                norms.append(float(torch.cat([g.flatten() for g in grads]).norm()))

    evaluator = _evaluator()
    run_search(build_strategy("darts2", gradient_clip_val=1e-3), PIBSpace(channels=2, layers=3, nodes=2),
               evaluator, callbacks=[GradNorm()], seed=0)
    sgd, adam = evaluator.trainer.optimizers
    assert isinstance(sgd, torch.optim.SGD) and isinstance(adam, torch.optim.Adam)
    assert sgd.param_groups[0]["momentum"] == 0.9 and sgd.param_groups[0]["weight_decay"] == 3e-4
    assert sgd.param_groups[0]["lr"] == pytest.approx(0.001)  # cosine to eta_min after max_epochs
    assert adam.param_groups[0]["lr"] == 3e-4 and adam.param_groups[0]["betas"] == (0.5, 0.999)
    assert len(norms) == 2 and max(norms) <= 1e-3 * (1 + 1e-5)


# ---- export rule --------------------------------------------------------------------------

OPS3 = ["conv", "pool", "skip"]
# node 3: edge 3_0 has the largest raw logit but a flat softmax; 3_1 and 3_2 are confident.
DISAGREE = {
    "normal/2_0": [1.0, 0.0, 0.0, 0.0], "normal/2_1": [0.0, 1.0, 0.0, 0.0],
    "normal/3_0": [3.0, 3.0, 3.0, 3.0], "normal/3_1": [2.0, -5.0, -5.0, -5.0],
    "normal/3_2": [-5.0, 1.0, -5.0, -5.0],
}


def test_darts_rule_differs_from_nni_raw_logit_rule() -> None:
    alphas = {k: torch.tensor(v) for k, v in DISAGREE.items()}
    ours = darts_rule_export(alphas, OPS3)
    assert ours["normal/input_3_0"] == [1] and ours["normal/op_3_0"] == "conv"
    assert ours["normal/input_3_1"] == [2] and ours["normal/op_3_1"] == "pool"
    assert (ours["normal/op_2_0"], ours["normal/input_2_0"]) == ("conv", [0])
    cell = SimpleNamespace(label="normal", num_predecessors=2, num_nodes=2, num_ops_per_node=2,
                           op_names=OPS3, _arch_alpha=alphas)
    nni = DifferentiableMixedCell.export(cell, {})
    assert sorted(nni["normal/input_3_0"] + nni["normal/input_3_1"]) == [0, 1]
    assert nni != ours


def test_darts_rule_never_picks_none_and_weights_include_it() -> None:
    alphas = {"normal/2_0": torch.tensor([0.0, 0.0, 0.0, 9.0]), "normal/2_1": torch.tensor([0.0, 1.0, 0.0, 9.0])}
    out = darts_rule_export(alphas, OPS3)
    assert {out["normal/op_2_0"], out["normal/op_2_1"]} <= set(OPS3)
    assert out["normal/input_2_0"] == [1]  # its strongest non-none op weighs more
    weights = edge_weights(alphas, OPS3)
    assert list(weights["normal/2_0"]) == [*OPS3, "none"]
    assert sum(weights["normal/2_1"].values()) == pytest.approx(1.0)
    assert weights["normal/2_0"]["none"] > 0.99


def test_strategy_export_uses_darts_rule_on_the_real_cell() -> None:
    space = PIBSpace(op_set="darts", channels=2, layers=3, nodes=2)
    strategy = build_strategy("darts")
    strategy.mutate_model(space)
    cells = [m for m in space.modules() if isinstance(m, DifferentiableMixedCell)]
    assert cells and all(isinstance(c, DartsRuleMixedCell) for c in cells)
    normal = next(c for c in cells if c.label == "normal")
    n = len(normal.op_names)
    with torch.no_grad():
        for label, raw in DISAGREE.items():  # spread the 3-op pattern over the 7 darts ops
            a = torch.full((n + 1,), raw[-1])  # the extra darts ops share the none logit
            a[:3] = torch.tensor(raw[:3])
            normal._arch_alpha[label].copy_(a)
    ours = normal.export({})
    nni = DifferentiableMixedCell.export(normal, {})
    assert sorted(ours["normal/input_3_0"] + ours["normal/input_3_1"]) == [1, 2]
    assert sorted(nni["normal/input_3_0"] + nni["normal/input_3_1"]) == [0, 1]


# ---- registry -----------------------------------------------------------------------------


def test_registry_holds_nni_one_shot_strategies_and_darts2() -> None:
    assert {"darts", "darts2", "gumbel_darts", "random_oneshot", "enas", "proxyless"} <= set(ONE_SHOT_NAMES)
    assert set(DIFFERENTIABLE) == {"darts", "darts2", "gumbel_darts"}


def test_unknown_strategy_lists_valid_names() -> None:
    with pytest.raises(UserError, match="unknown strategy 'dart'.*darts2.*proxyless"):
        build_strategy("dart")


def test_unknown_option_is_a_user_error() -> None:
    with pytest.raises(UserError, match="no option.*arc_lr"):
        build_strategy("darts", arc_lr=0.1)


def test_enas_without_tianshou_is_refused_with_install_hint(monkeypatch) -> None:
    from nni.nas.oneshot.pytorch import sampling

    monkeypatch.setattr(sampling, "has_tianshou", False)
    with pytest.raises(UserError, match=r"tianshou.*pip install --no-deps tianshou==0\.4\.11"):
        build_strategy("enas")


def _enas_available() -> bool:
    from nni.nas.oneshot.pytorch import sampling

    return sampling.has_tianshou


@pytest.mark.parametrize("name", ONE_SHOT_NAMES)
def test_strategy_searches_one_epoch_and_exports_a_valid_genotype(name: str) -> None:
    if name == "enas" and not _enas_available():
        with pytest.raises(UserError, match="tianshou"):
            build_strategy(name)
        return
    enas = {"batches_per_update": 1, "update_kwargs": {"batch_size": 2, "repeat": 1, "update_times": 1}}
    options = enas if name == "enas" else {}
    space = PIBSpace(channels=4, layers=3, nodes=2)
    snapshot, history = _AlphaSnapshot(), AlphaHistory()
    arch = run_search(build_strategy(name, **options), space, _evaluator(), callbacks=[snapshot, history], seed=0)
    genotype = from_nni(arch, op_set="pibn")
    assert len(genotype.normal) == len(genotype.reduce) == 4
    assert "none" not in genotype.ops()
    if name in DIFFERENTIABLE:
        alphas, op_names = _cell_alphas(space)
        assert arch == darts_rule_export(alphas, op_names)
        assert len(history.history) == 1 and "none" in history.history[0]["normal/3_2"]
    if name in (*DIFFERENTIABLE, "proxyless"):
        moved = [not torch.equal(p.detach(), s) for p, s in zip(snapshot.params, snapshot.start)]
        assert any(moved), f"{name}: no architecture parameter was updated"


def test_seeded_runs_are_reproducible() -> None:
    archs = []
    for _ in range(2):
        torch.manual_seed(0)
        space = PIBSpace(channels=2, layers=3, nodes=2)
        archs.append(run_search(build_strategy("random_oneshot"), space, _evaluator(), seed=7))
    assert archs[0] == archs[1]


def test_resume_from_checkpoint_restores_alphas(tmp_path) -> None:
    ckpt = ModelCheckpoint(dirpath=tmp_path, save_last=True)
    torch.manual_seed(0)
    space = PIBSpace(channels=2, layers=3, nodes=2)
    run_search(build_strategy("darts"), space, _evaluator(), callbacks=[ckpt], seed=0)
    saved, _ = _cell_alphas(space)
    torch.manual_seed(1)
    snapshot = _AlphaSnapshot()
    evaluator = _evaluator(max_epochs=2)
    run_search(build_strategy("darts"), PIBSpace(channels=2, layers=3, nodes=2), evaluator,
               callbacks=[snapshot], ckpt_path=tmp_path / "last.ckpt", seed=1)
    assert evaluator.trainer.current_epoch == 2
    restored = {id(p): s for p, s in zip(snapshot.params, snapshot.start)}
    assert len(restored) == len(saved)
    assert sorted(float(s.sum()) for s in restored.values()) == pytest.approx(
        sorted(float(a.detach().sum()) for a in saved.values())
    )


# ---- registry behaviour -------------------------------------------------------------------


@pytest.mark.parametrize("name", ONE_SHOT_NAMES)
def test_every_strategy_reads_the_options_it_lists(name: str) -> None:
    """Each listed key changes what the built NNI strategy is configured with."""
    from nni_pibn.search.config import SearchConfig

    kind = STRATEGIES.get(name)
    if name == "enas" and not _enas_available():
        pytest.skip("tianshou missing")
    changed = {"arch_lr": 0.123, "grad_clip": 1.25, "warmup_epochs": 3, "hvp": "finite_difference", "fd_eps": 0.5,
               "fused_cell": False, "arch_lr_schedule": "cosine", "free_op_dropout": 0.3}
    base = vars(kind.build(SearchConfig(strategy=name))).copy()
    for key in kind.options:
        if key not in changed:  # a key of another family (e.g. multi-trial): not this test's
            continue
        other = vars(kind.build(SearchConfig(strategy=name, epochs=5, **{key: changed[key]})))
        assert other != base, f"{name} lists {key} but ignores it"


@pytest.mark.parametrize("name", ONE_SHOT_NAMES)
def test_an_option_the_strategy_does_not_read_is_refused(name: str) -> None:
    from nni_pibn.search.config import SearchConfig
    from nni_pibn.strategies.registry import strategy_option_keys

    kind = STRATEGIES.get(name)
    unused = sorted(strategy_option_keys() - kind.options)
    values = {"arch_lr": 0.5, "warmup_epochs": 2, "hvp": "finite_difference", "fd_eps": 0.5, "fused_cell": False,
              "grad_clip": 1.0, "arch_lr_schedule": "cosine", "free_op_dropout": 0.2}
    for key in [k for k in unused if k in values]:
        with pytest.raises(UserError, match=f"strategy '{name}' does not use {key}"):
            kind.check_options(SearchConfig(strategy=name, epochs=5, **{key: values[key]}))
    kind.check_options(SearchConfig(strategy=name))  # defaults are never an error


def test_arch_validation_loop_reports_the_supernet_accuracy_on_the_arch_half() -> None:
    """val_acc after an epoch is the eval-mode accuracy of the supernet on the arch-val loader."""
    x, y = _batch(0, n=8)
    val_x, val_y = _batch(9, n=8)
    train = DataLoader(TensorDataset(x, y), batch_size=4)
    val = DataLoader(TensorDataset(val_x, val_y), batch_size=4)
    evaluator = build_search_evaluator(train, val, TRAINER)
    torch.manual_seed(0)
    space = PIBSpace(channels=4, layers=3, nodes=2)
    run_search(build_strategy("darts"), space, evaluator, seed=0)
    space.eval()
    with torch.no_grad():
        acc = float((space(val_x).argmax(1) == val_y).float().mean())
        loss = float(F.cross_entropy(space(val_x), val_y))
    metrics = evaluator.trainer.callback_metrics
    assert float(metrics["val_acc"]) == pytest.approx(acc)
    assert float(metrics["val_loss"]) == pytest.approx(loss, rel=1e-5)


def _ddp_worker(rank: int, port: int, out: str) -> None:
    import torch.distributed as dist

    from nni_pibn.strategies.modules import all_reduce_mean

    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=2)
    try:
        tensors = [torch.full((3,), float(rank + 1)), torch.full((2, 2), 10.0 * (rank + 1))]
        all_reduce_mean(tensors)
        # a second-order arch step on a different batch per rank: the averaged alpha gradients agree
        module, opt, _, alphas = _darts2_setup(lr=0.025)
        module.unrolled_backward(_batch(10 + rank, torch.float64), _batch(20 + rank, torch.float64), opt)
        grads = [a.grad.clone() for a in alphas]
        all_reduce_mean(grads)
        torch.save({"tensors": tensors, "grads": grads}, f"{out}/rank{rank}.pt")
    finally:
        dist.destroy_process_group()


def test_all_reduce_mean_over_two_cpu_processes(tmp_path) -> None:
    import torch.multiprocessing as mp

    from nni_pibn.nnictl import free_port

    mp.spawn(_ddp_worker, args=(free_port(), str(tmp_path)), nprocs=2, join=True)
    r0, r1 = (torch.load(tmp_path / f"rank{r}.pt") for r in (0, 1))
    for t0, t1 in zip(r0["tensors"], r1["tensors"]):
        assert torch.equal(t0, t1)
    assert torch.equal(r0["tensors"][0], torch.full((3,), 1.5))
    assert torch.equal(r0["tensors"][1], torch.full((2, 2), 15.0))
    assert all(torch.equal(a, b) for a, b in zip(r0["grads"], r1["grads"]))


def test_arch_lr_schedule_and_free_op_dropout_follow_the_epochs() -> None:
    from nni_pibn.search.config import SearchConfig
    from nni_pibn.strategies.modules import arch_lr_factor, free_op_dropout_at
    from nni_pibn.supernet import FusedMixedCell

    assert [arch_lr_factor("constant", e, 4, 1) for e in range(4)] == [1.0] * 4
    assert [round(arch_lr_factor("cosine", e, 5, 1), 6) for e in range(5)] == [1.0, 1.0, 0.853553, 0.5, 0.146447]
    assert [free_op_dropout_at(0.3, e, 4) for e in range(4)] == pytest.approx([0.3, 0.2, 0.1, 0.0])
    seen: list[tuple[float, float]] = []

    class Probe(pl.Callback):  # batch start: after the module's own epoch-start hook
        def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
            if batch_idx:
                return
            arch = next(o for o in trainer.optimizers if getattr(o, "is_arch_optimizer", False))
            cell = next(m for m in pl_module.modules() if isinstance(m, FusedMixedCell))
            seen.append((arch.param_groups[0]["lr"], cell.free_op_dropout))

    cfg = SearchConfig(strategy="darts", arch_lr=0.01, arch_lr_schedule="cosine", free_op_dropout=0.3, epochs=3)
    run_search(build_strategy("darts", cfg), PIBSpace(channels=2, layers=3, nodes=2), _evaluator(max_epochs=3),
               callbacks=[Probe()], seed=0)
    assert [lr for lr, _ in seen] == pytest.approx([0.01, 0.0075, 0.0025])
    assert [p for _, p in seen] == pytest.approx([0.3, 0.15, 0.0])
