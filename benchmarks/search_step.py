"""Time and memory of one search step: first-order (``darts``) vs second-order (``darts2``) DARTS.

Both strategies search the same space on the same random batches, each in a fresh
subprocess (so peak memory is its own). A step is the one-shot module's whole
``training_step`` (architecture step + weight step), timed by a Lightning callback; the
first ``--warmup`` steps are not counted. Peak memory: ``torch.cuda.max_memory_allocated``
from the start of training (weights included) on CUDA; on CPU the growth of the process'
peak RSS (``ru_maxrss``) from the start of training (activations, gradients, optimizer
state; the weights are already resident). CPU runs use ``--threads 1`` by default: on a
shared 2-core machine more threads spin-wait and make timings meaningless.

    .venv/bin/python benchmarks/search_step.py                      # DARTS 8 ops, C 16, 8 cells, batch 16
    .venv/bin/python benchmarks/search_step.py --op-set pibn --device cuda --batch 64 --steps 20

The cost floor of second order is about 5 forward-backward passes against 2 (ratio ~2.5).
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
import warnings
from typing import Any

STRATEGIES = ("darts", "darts2")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    p.add_argument("--op-set", default="darts", help="op set of the space (darts: DARTS' 8 ops, pibn: the paper's 10)")
    p.add_argument("--channels", type=int, default=16)
    p.add_argument("--layers", type=int, default=8)
    p.add_argument("--nodes", type=int, default=4)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--image", type=int, default=32, help="image side (CIFAR: 32)")
    p.add_argument("--steps", type=int, default=3, help="timed steps per strategy")
    p.add_argument("--warmup", type=int, default=1, help="untimed steps first")
    p.add_argument("--threads", type=int, default=1, help="torch intra-op threads (0: torch's default)")
    p.add_argument("--worker", choices=STRATEGIES, help=argparse.SUPPRESS)
    return p


def _worker(args: argparse.Namespace) -> dict[str, Any]:
    warnings.filterwarnings("ignore")
    import pytorch_lightning as pl
    import torch
    from nni.nas.evaluator.pytorch import DataLoader
    from torch.utils.data import TensorDataset

    from nni_pibn.space import PIBSpace
    from nni_pibn.strategies import build_search_evaluator, build_strategy, run_search

    cuda = args.device == "cuda"
    if args.threads:
        torch.set_num_threads(args.threads)
    total = args.steps + args.warmup
    times: list[float] = []
    rss: dict[str, int] = {}

    def sync() -> None:
        if cuda:
            torch.cuda.synchronize()

    class StepTimer(pl.Callback):
        def on_train_start(self, trainer, pl_module) -> None:
            if cuda:
                torch.cuda.reset_peak_memory_stats()
            rss["before"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

        def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
            sync()
            self.t0 = time.perf_counter()

        def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
            sync()
            if batch_idx >= args.warmup:
                times.append(time.perf_counter() - self.t0)

    torch.manual_seed(0)
    x = torch.randn(total * args.batch, 3, args.image, args.image)
    y = torch.randint(0, 10, (total * args.batch,))
    loaders = [DataLoader(TensorDataset(x, y), batch_size=args.batch) for _ in range(2)]
    trainer = {
        "accelerator": "gpu" if cuda else "cpu", "devices": 1, "max_epochs": 1, "limit_train_batches": total,
        "enable_checkpointing": False, "logger": False, "enable_progress_bar": False, "enable_model_summary": False,
    }
    space = PIBSpace(op_set=args.op_set, channels=args.channels, layers=args.layers, nodes=args.nodes)
    evaluator = build_search_evaluator(*loaders, trainer)
    run_search(build_strategy(args.worker), space, evaluator, callbacks=[StepTimer()], seed=0)
    if cuda:
        peak_mb = torch.cuda.max_memory_allocated() / 2**20
    else:  # ru_maxrss is in KiB on Linux
        peak_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss["before"]) / 1024
    return {"strategy": args.worker, "median_s": statistics.median(times), "peak_mb": peak_mb, "steps": len(times)}


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.worker:
        print(json.dumps(_worker(args)))
        return 0
    passthrough = list(argv if argv is not None else sys.argv[1:])
    results = {}
    for name in STRATEGIES:
        out = subprocess.run(
            [sys.executable, __file__, *passthrough, "--worker", name],
            capture_output=True, text=True, check=False,
        )
        if out.returncode != 0:
            sys.stderr.write(out.stderr[-4000:])
            return out.returncode
        results[name] = json.loads(out.stdout.strip().splitlines()[-1])
    mem = "peak CUDA MiB" if args.device == "cuda" else "peak RSS growth MiB"
    print(
        f"space: op set {args.op_set}, C {args.channels}, {args.layers} cells, {args.nodes} nodes; "
        f"batch {args.batch} x {args.image}x{args.image}; device {args.device}; "
        f"{args.steps} timed steps after {args.warmup} warm-up; {args.threads or 'default'} thread(s)"
    )
    print(f"{'strategy':<10} {'median s/step':>14} {mem:>22}")
    for name, r in results.items():
        print(f"{name:<10} {r['median_s']:>14.3f} {r['peak_mb']:>22.1f}")
    first, second = results["darts"], results["darts2"]
    ratio_t = second["median_s"] / first["median_s"]
    ratio_m = second["peak_mb"] / first["peak_mb"] if first["peak_mb"] > 0 else float("nan")
    print(f"second/first order: time x{ratio_t:.2f}, memory x{ratio_m:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
