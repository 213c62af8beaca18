"""The three regularisers of DARTS' evaluation recipe, each checked directly."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from nni_pibn.data import Cutout
from nni_pibn.genotype import GENOTYPES
from nni_pibn.retrain import RetrainModule, drop_path_schedule, retrain_loss


@pytest.mark.parametrize(
    "center,rows,cols",
    [((16, 16), (8, 24), (8, 24)),  # whole 16x16 window
     ((0, 0), (0, 8), (0, 8)),  # clipped at the top-left corner
     ((31, 5), (23, 32), (0, 13))],  # clipped at the bottom and the left
)
def test_cutout_zeroes_a_window_clipped_at_the_border(monkeypatch: pytest.MonkeyPatch, center: tuple[int, int],
                                                     rows: tuple[int, int], cols: tuple[int, int]) -> None:
    draws = iter(center)
    monkeypatch.setattr(torch, "randint", lambda high, size: torch.tensor(next(draws)))
    img = torch.rand(3, 32, 32) + 1.0  # no zeros of its own
    out = Cutout(16)(img)
    expected = img.clone()
    expected[:, rows[0]:rows[1], cols[0]:cols[1]] = 0.0
    torch.testing.assert_close(out, expected)
    assert (out == 0).sum() == 3 * (rows[1] - rows[0]) * (cols[1] - cols[0])
    assert (img > 0).all()  # the input is not modified


def test_cutout_random_centres_cover_the_image() -> None:
    torch.manual_seed(0)
    zeros = torch.stack([(Cutout(16)(torch.ones(1, 32, 32)) == 0).float() for _ in range(400)])
    counts = zeros.sum(dim=(1, 2, 3))
    assert counts.max() == 256 and counts.min() < 256  # full windows inside, clipped ones at borders
    assert zeros.amax(0).all()  # every pixel is cut at least once
    assert torch.equal(Cutout(0)(torch.ones(1, 4, 4)), torch.ones(1, 4, 4))


def test_drop_path_ramps_linearly_from_zero() -> None:
    assert drop_path_schedule(0.2, 0, 600) == 0.0
    assert drop_path_schedule(0.2, 599, 600) == pytest.approx(0.2 * 599 / 600)
    assert drop_path_schedule(0.2, 300, 600) == pytest.approx(0.1)


def _module(aux_weight: float = 0.4, drop: float = 0.2) -> RetrainModule:
    torch.manual_seed(0)
    return RetrainModule(GENOTYPES["pibn"].to_json(), layers=3, channels=4, num_classes=10, dataset="fake",
                         auxiliary_weight=aux_weight, drop_path_prob=drop, epochs=10)


def test_module_sets_drop_path_per_epoch_and_it_drops(monkeypatch: pytest.MonkeyPatch) -> None:
    m = _module()
    for epoch, expected in [(0, 0.0), (9, 0.18)]:
        monkeypatch.setattr(RetrainModule, "current_epoch", property(lambda self, e=epoch: e))
        m.on_train_epoch_start()
        assert m.net.drop_path_prob == pytest.approx(expected)
    x = torch.randn(4, 3, 32, 32)
    m.train()
    torch.manual_seed(1)
    a = m.net(x)[0]
    torch.manual_seed(2)
    b = m.net(x)[0]
    assert not torch.allclose(a, b)  # different masks, different outputs
    m.eval()
    torch.testing.assert_close(m.net(x), m.net(x))  # no drop path in eval mode


def test_auxiliary_loss_counts_with_weight_0_4() -> None:
    logits, aux, y = torch.randn(6, 10), torch.randn(6, 10), torch.randint(10, (6,))
    main, side = F.cross_entropy(logits, y), F.cross_entropy(aux, y)
    torch.testing.assert_close(retrain_loss(logits, aux, y, 0.4), main + 0.4 * side)
    torch.testing.assert_close(retrain_loss(logits, None, y, 0.4), main)

    m = _module(drop=0.0)
    m.train()
    x, y = torch.randn(4, 3, 32, 32), torch.randint(10, (4,))
    with pytest.warns(Warning):  # self.log without a Trainer only warns
        loss = m.training_step((x, y), 0)
    logits, aux = m.net(x)
    assert aux is not None
    expected = F.cross_entropy(logits, y) + 0.4 * F.cross_entropy(aux, y)
    torch.testing.assert_close(loss, expected)
    assert float(F.cross_entropy(aux, y)) > 0.1  # the auxiliary term is not negligible here
