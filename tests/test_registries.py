"""Every name registry of the package keeps the same contract, and every entry of each
works: the tests take the names from the registries, so a new entry is tested with no new
test code (and an entry nobody can build fails here)."""

from __future__ import annotations

import importlib
import pkgutil

import pytest
import torch

import nni_pibn
from nni_pibn.errors import UserError
from nni_pibn.ops import OpParams, build_op
from nni_pibn.ops.norm import ACTIVATIONS, NORMS
from nni_pibn.ops.sets import OP_SETS
from nni_pibn.registry import Registry


def _all_registries() -> dict[str, Registry]:
    """Every module-level Registry in nni_pibn (imported here, so none is missed)."""
    found: dict[str, Registry] = {}
    for info in pkgutil.walk_packages(nni_pibn.__path__, "nni_pibn."):
        if info.name.startswith(("nni_pibn.cli", "nni_pibn.__main__")):
            continue
        try:
            module = importlib.import_module(info.name)
        except ImportError:  # an optional dependency the module needs (e.g. NNI's RL extras)
            continue
        for value in vars(module).values():
            if isinstance(value, Registry) and len(value):
                found.setdefault(value.kind, value)
    return found


REGISTRIES = _all_registries()


def test_the_known_registries_are_found() -> None:
    assert {"op", "op set", "dataset", "normalisation", "activation", "strategy"} <= set(REGISTRIES)


@pytest.mark.parametrize("kind", sorted(REGISTRIES))
def test_unknown_names_list_every_valid_one(kind: str) -> None:
    registry = REGISTRIES[kind]
    with pytest.raises(UserError) as err:
        registry.get("no-such-name")
    assert str(err.value) == f"unknown {kind} 'no-such-name'; valid names: {', '.join(registry.names())}"


@pytest.mark.parametrize("kind", sorted(REGISTRIES))
def test_names_are_unique_and_cannot_be_overwritten(kind: str) -> None:
    registry = REGISTRIES[kind]
    names = registry.names()
    assert len(names) == len(set(names)) == len(registry) and list(registry) == names
    with pytest.raises(ValueError, match="already registered"):
        registry.add(names[0], registry.get(names[0]))
    assert registry.names() == names


@pytest.mark.parametrize("norm", NORMS.names())
def test_every_norm_normalises_per_channel_and_keeps_the_shape(norm: str) -> None:
    layer = NORMS.get(norm)(6, True)
    y = layer(torch.randn(4, 6, 5, 5) * 3 + 1)
    assert y.shape == (4, 6, 5, 5) and abs(float(y.mean())) < 0.1


@pytest.mark.parametrize("act", ACTIVATIONS.names())
@pytest.mark.parametrize("op", ["sep_conv_3x3", "dil_conv_3x3", "conv_7x1_1x7"])
def test_every_activation_builds_conv_ops_that_use_it_and_pass_gradients(act: str, op: str) -> None:
    built = build_op(op, 4, 1, params=OpParams(act=act))
    kinds = {type(m) for m in built.modules()}
    assert type(ACTIVATIONS.get(act)()) in kinds
    x = torch.randn(2, 4, 8, 8, requires_grad=True)
    built(x).square().sum().backward()
    assert x.grad is not None and torch.count_nonzero(x.grad) > 0


@pytest.mark.parametrize("name", OP_SETS.names())
def test_every_op_set_names_only_registered_ops_none_first(name: str) -> None:
    from nni_pibn.ops import OPS

    names = OP_SETS.get(name).names
    assert names[0] == "none" and len(set(names)) == len(names)
    assert all(op in OPS for op in names)
