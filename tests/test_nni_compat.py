"""NNI 3.0 names outside its public API that nni_pibn builds on: if an NNI upgrade moves or
changes one of them, this file fails first, naming it (see nni_pibn/nni_compat.py)."""

from __future__ import annotations

import inspect

import pytest

from nni_pibn import nni_compat

#: name -> members nni_pibn calls or overrides on it
USED = {
    "BaseOneShotLightningModule": ["supernet_modules", "resample", "export", "export_probs", "set_model",
                                   "advance_optimization", "advance_lr_schedulers", "architecture_optimizers"],
    "DartsLightningModule": ["training_step", "arch_parameters", "configure_architecture_optimizers",
                             "log_probs", "on_train_epoch_start"],
    "GumbelDartsLightningModule": ["on_train_epoch_start"],
    "RandomSamplingLightningModule": ["validation_step", "resample", "export"],
    "EnasLightningModule": ["training_step", "validation_step"],
    "DifferentiableMixedCell": ["mutate", "export", "export_probs", "arch_parameters", "forward", "resample"],
    "PathSamplingCell": ["mutate", "forward", "export", "resample"],
    "BaseSuperNetModule": ["resample", "export", "export_probs"],
    "ProxylessFunction": ["apply", "forward", "backward"],
}


@pytest.mark.parametrize("name", sorted(USED))
def test_nni_names_have_the_members_we_use(name: str) -> None:
    obj = getattr(nni_compat, name)
    missing = [m for m in USED[name] if not hasattr(obj, m)]
    assert not missing, f"NNI's {name} lost {missing}: update nni_pibn/nni_compat.py and its users"


def test_constructor_signatures_we_call() -> None:
    cell = inspect.signature(nni_compat.PathSamplingCell.__init__).parameters
    assert list(cell)[1:] == ["op_factory", "num_nodes", "num_ops_per_node", "num_predecessors", "preprocessor",
                              "postprocessor", "concat_dim", "memo", "mutate_kwargs", "label"]
    darts = inspect.signature(nni_compat.DartsLightningModule.__init__).parameters
    assert {"arc_learning_rate", "gradient_clip_val", "log_prob_every_n_step", "warmup_epochs"} <= set(darts)
    gumbel = inspect.signature(nni_compat.GumbelDartsLightningModule.__init__).parameters
    assert "temperature_scheduler" in gumbel
    enas = inspect.signature(nni_compat.EnasLightningModule.__init__).parameters
    assert {"batches_per_update", "update_kwargs", "reward_metric_name", "warmup_epochs"} <= set(enas)


def test_differentiable_cell_keeps_one_alpha_per_edge_with_an_implicit_none() -> None:
    """The fused cell and the DARTS-rule export read ``_arch_alpha`` and ``op_names`` this way."""
    import torch

    from nni_pibn.space import PIBSpace
    from nni_pibn.strategies.darts2 import DartsFirstOrder

    torch.manual_seed(0)
    space = PIBSpace(channels=2, layers=3, nodes=2)
    DartsFirstOrder(fused_cell=False).mutate_model(space)
    cell = next(m for m in space.modules() if isinstance(m, nni_compat.DifferentiableMixedCell))
    assert set(cell._arch_alpha) == {"normal/2_0", "normal/2_1", "normal/3_0", "normal/3_1", "normal/3_2"}
    assert all(len(a) == len(cell.op_names) + 1 for a in cell._arch_alpha.values())
    assert callable(nni_compat.preprocess_cell_inputs) and isinstance(nni_compat.has_tianshou(), bool)
