"""How close each architecture gradient comes to the true hypergradient, and what it costs.

On one PIB supernet and one (train, val) batch pair, after a few real SGD steps (so the
weights and momentum buffers are not at their initialisation), this compares against
the exact hypergradient of second-order DARTS, ``grad_a L_val(w'(a), a)`` by double
backpropagation through the virtual step in float64:

- ``first order``: ``grad_a L_val(w', a)`` without the implicit term (xi -> 0);
- ``finite_difference`` at several eps: DARTS' central difference (float32);
- ``exact``: double backprop (float32), as ``hvp: exact`` computes it.

For each: the cosine with the reference over all alphas, the relative error, and the
seconds and peak RSS growth of one architecture step in float32 (one torch thread; the
peak is reset before each step through Linux' ``/proc/self/clear_refs``).

    .venv/bin/python benchmarks/hvp.py                                   # C 8, 5 cells, batch 16, 32px
    .venv/bin/python benchmarks/hvp.py --channels 16 --layers 8 --batch 16
"""

from __future__ import annotations

import argparse
import copy
import time
import warnings
from pathlib import Path

import torch
import torch.nn.functional as F
from torch.func import functional_call


def _status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"/proc/self/status has no {field}")


def _module(args: argparse.Namespace, hvp: str, eps: float):
    from nni_pibn.search.config import SearchConfig
    from nni_pibn.space import PIBSpace
    from nni_pibn.strategies import SearchClassificationModule, build_strategy

    torch.manual_seed(args.seed)
    space = PIBSpace(op_set=args.op_set, channels=args.channels, layers=args.layers, nodes=args.nodes)
    strategy = build_strategy("darts2", SearchConfig(hvp=hvp, fd_eps=eps))
    strategy.mutate_model(space)
    module = strategy.configure_oneshot_module(SearchClassificationModule())
    module.set_model(space)
    alphas = module.arch_parameters()
    arch = set(alphas)
    named = [(n, p) for n, p in module.training_module.named_parameters() if p not in arch]
    opt = torch.optim.SGD([p for _, p in named], lr=args.lr, momentum=0.9, weight_decay=3e-4)
    g = torch.Generator().manual_seed(args.seed + 1)
    for _ in range(args.warm_steps):  # move away from the initialisation, fill the momentum buffers
        x = torch.randn(args.batch, 3, args.image, args.image, generator=g)
        y = torch.randint(0, 10, (args.batch,), generator=g)
        opt.zero_grad()
        F.cross_entropy(module.training_module(x), y).backward()
        opt.step()
    return module, opt, named, alphas


def _reference(module, opt, named, alphas, trn, val) -> torch.Tensor:
    group = opt.param_groups[0]
    ref = copy.deepcopy(module.training_module).double()
    params = dict(ref.named_parameters())
    names = [n for n, _ in named]
    weights = [params[n] for n in names]
    ids = {id(p): n for n, p in module.training_module.named_parameters()}
    ref_alphas = [params[ids[id(a)]] for a in alphas]

    def loss(batch, ws):
        return F.cross_entropy(functional_call(ref, dict(zip(names, ws)), (batch[0].double(),)), batch[1])

    g = torch.autograd.grad(loss(trn, weights), weights, create_graph=True)
    unrolled = [w - group["lr"] * (group["momentum"] * opt.state[p]["momentum_buffer"].double() + gi
                                   + group["weight_decay"] * w) for w, gi, (_, p) in zip(weights, g, named)]
    return torch.cat([t.flatten() for t in torch.autograd.grad(loss(val, unrolled), ref_alphas)])


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--op-set", default="pibn")
    p.add_argument("--channels", type=int, default=8)
    p.add_argument("--layers", type=int, default=5)
    p.add_argument("--nodes", type=int, default=4)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--image", type=int, default=32)
    p.add_argument("--lr", type=float, default=0.025, help="the weight learning rate xi")
    p.add_argument("--eps", type=float, nargs="+", default=[0.01, 0.001])
    p.add_argument("--warm-steps", type=int, default=3)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    warnings.filterwarnings("ignore")
    torch.set_num_threads(1)
    g = torch.Generator().manual_seed(args.seed + 2)
    batches = [(torch.randn(args.batch, 3, args.image, args.image, generator=g),
                torch.randint(0, 10, (args.batch,), generator=g)) for _ in range(2)]
    trn, val = batches
    module, opt, named, alphas = _module(args, "exact", 0.01)
    reference = _reference(module, opt, named, alphas, trn, val)
    del module
    print(f"PIB supernet {args.op_set}, C {args.channels}, {args.layers} cells, batch {args.batch}, "
          f"{args.image}px, xi {args.lr}; reference: float64 double backprop through the virtual step")
    print(f"{'gradient':<26} {'cosine':>9} {'rel. error':>11} {'s/arch step':>12} {'peak MiB':>9}")
    modes = [("first order", "exact", 0.0)] + [(f"finite_difference eps {e:g}", "finite_difference", e)
                                                for e in args.eps] + [("exact", "exact", 0.0)]
    for label, hvp, eps in modes:
        module, opt, named, alphas = _module(args, hvp, eps or 0.01)
        if label == "first order":
            opt.param_groups[0]["lr"] = 1e-12  # xi -> 0: w' = w and no implicit term
        Path("/proc/self/clear_refs").write_text("5")  # peak RSS := current RSS
        rss0 = _status_kib("VmRSS")
        start = time.perf_counter()
        grads, _ = module._unrolled(trn, val, alphas, opt)
        seconds = time.perf_counter() - start
        peak = (_status_kib("VmHWM") - rss0) / 1024
        got = torch.cat([t.flatten() for t in grads]).double()
        cos = float(F.cosine_similarity(got, reference, dim=0))
        rel = float((got - reference).norm() / reference.norm())
        print(f"{label:<26} {cos:>9.6f} {rel:>11.4f} {seconds:>12.2f} {peak:>9.0f}")
        del module, opt


if __name__ == "__main__":
    main()
