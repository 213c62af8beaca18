from __future__ import annotations

import pytest
import torch

from nni_pibn.complexity import count_params
from nni_pibn.genotype import DARTS_V2, PIBN, Genotype, from_nni
from nni_pibn.network import NetworkCIFAR, drop_path
from nni_pibn.space import PIBSpace, reduction_indices


def test_space_labels_are_cell_choices() -> None:
    space = PIBSpace(channels=4, layers=3, nodes=4, num_classes=7)
    sp = space.simplify()
    # 2 cell types x 4 nodes x 2 edges x (op + input)
    assert len(sp) == 32
    assert list(sp["normal/op_2_0"].values) == [
        "skip_connect", "pib_conv_3x3", "pib_conv_5x5", "pib_conv_7x7",
        "dil_conv_3x3", "dil_conv_5x5", "conv_7x1_1x7", "max_pool_3x3", "avg_pool_3x3",
    ]
    assert list(sp["reduce/input_5_1"].values) == [0, 1, 2, 3, 4]
    assert space(torch.randn(2, 3, 32, 32)).shape == (2, 7)


@pytest.mark.parametrize("layers", [2, 3, 8, 20])
def test_reduction_positions(layers: int) -> None:
    r1, r2 = reduction_indices(layers)
    assert (r1, r2) == (layers // 3, 2 * layers // 3)


@pytest.mark.parametrize("genotype", [PIBN, DARTS_V2])
@pytest.mark.parametrize("layers", [2, 5])
def test_frozen_space_matches_fixed_network_params(genotype: Genotype, layers: int) -> None:
    op_set = "pibn" if genotype is PIBN else "darts"
    space = PIBSpace(op_set=op_set, channels=8, layers=layers, affine=True)
    frozen = space.freeze(genotype.to_nni())
    net = NetworkCIFAR(genotype, channels=8, layers=layers, auxiliary=False)
    assert count_params(frozen) == count_params(net)
    x = torch.randn(2, 3, 32, 32)
    assert frozen.eval()(x).shape == net.eval()(x).shape == (2, 10)


def test_fixed_network_aux_and_drop_path() -> None:
    net = NetworkCIFAR(PIBN, channels=4, layers=3, num_classes=5, auxiliary=True)
    x = torch.randn(3, 3, 32, 32)
    net.train()
    logits, aux = net(x)
    assert logits.shape == aux.shape == (3, 5)
    net.eval()
    assert net(x).shape == (3, 5)
    net.drop_path_prob = 0.3
    assert all(c.drop_prob == 0.3 for c in net.cells)
    assert "auxiliary_head" in dict(net.named_children())
    assert count_params(net) < sum(p.numel() for p in net.parameters())


def test_drop_path_zeroes_whole_samples_and_keeps_expectation() -> None:
    torch.manual_seed(1)
    x = torch.ones(4000, 2, 3, 3)
    y = drop_path(x, 0.25)
    per_sample = y.flatten(1)
    assert torch.all((per_sample == 0).all(1) | (per_sample == 1 / 0.75).all(1))
    assert abs(y.mean().item() - 1.0) < 0.05
    assert torch.equal(drop_path(x, 0.0), x)


def test_nni_darts_one_epoch_exports_architecture() -> None:
    from nni.nas.evaluator.pytorch import Classification
    from nni.nas.strategy import DARTS
    from torch.utils.data import DataLoader, TensorDataset

    torch.manual_seed(0)
    ds = TensorDataset(torch.randn(16, 3, 16, 16), torch.randint(0, 10, (16,)))
    evaluator = Classification(
        train_dataloaders=DataLoader(ds, batch_size=4),
        val_dataloaders=DataLoader(ds, batch_size=4),
        num_classes=10,
        max_epochs=1,
        accelerator="cpu",
        enable_progress_bar=False,
        logger=False,
        enable_checkpointing=False,
        enable_model_summary=False,
    )
    space = PIBSpace(channels=2, layers=3, nodes=2)
    strategy = DARTS()
    space = strategy.mutate_model(space)
    evaluator = strategy.mutate_evaluator(evaluator)
    evaluator.evaluate(space)
    arch = evaluator.module.export()
    g = from_nni(arch, op_set="pibn")
    assert len(g.normal) == len(g.reduce) == 4
