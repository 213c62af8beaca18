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
import time
import warnings

import torch
import torch.nn.functional as F
from _rss import PeakRSS

from nni_pibn.strategies.hypercheck import Darts2Check, reference_hypergradient, standalone_darts2, warm_up


def _check(args: argparse.Namespace, hvp: str, eps: float) -> Darts2Check:
    """The darts2 module and its weight SGD after ``--warm-steps`` steps on random batches."""
    check = standalone_darts2(hvp=hvp, fd_eps=eps, lr=args.lr, seed=args.seed, op_set=args.op_set,
                              channels=args.channels, layers=args.layers, nodes=args.nodes)
    g = torch.Generator().manual_seed(args.seed + 1)
    warm_up(check, ((torch.randn(args.batch, 3, args.image, args.image, generator=g),
                     torch.randint(0, 10, (args.batch,), generator=g)) for _ in range(args.warm_steps)))
    return check


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
    reference = torch.cat([t.flatten() for t in reference_hypergradient(_check(args, "exact", 0.01), trn, val)])
    print(f"PIB supernet {args.op_set}, C {args.channels}, {args.layers} cells, batch {args.batch}, "
          f"{args.image}px, xi {args.lr}; reference: float64 double backprop through the virtual step")
    print(f"{'gradient':<26} {'cosine':>9} {'rel. error':>11} {'s/arch step':>12} {'peak MiB':>9}")
    modes = [("first order", "exact", 0.0)] + [(f"finite_difference eps {e:g}", "finite_difference", e)
                                                for e in args.eps] + [("exact", "exact", 0.0)]
    for label, hvp, eps in modes:
        check = _check(args, hvp, eps or 0.01)
        if label == "first order":
            check.optimizer.param_groups[0]["lr"] = 1e-12  # xi -> 0: w' = w and no implicit term
        rss = PeakRSS()
        rss.start()
        start = time.perf_counter()
        grads, _ = check.module._unrolled(trn, val, check.alphas, check.optimizer)
        seconds = time.perf_counter() - start
        peak = rss.mib()
        got = torch.cat([t.flatten() for t in grads]).double()
        cos = float(F.cosine_similarity(got, reference, dim=0))
        rel = float((got - reference).norm() / reference.norm())
        print(f"{label:<26} {cos:>9.6f} {rel:>11.4f} {seconds:>12.2f} {peak:>9.0f}")
        del check


if __name__ == "__main__":
    main()
