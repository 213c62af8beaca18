"""Time and memory of one search step, first-order (``darts``) and second-order (``darts2``)
DARTS, optionally against another git revision of nni_pibn in the same run.

A step is the one-shot module's whole ``training_step`` (architecture step + weight step),
timed by a Lightning callback on random batches; the first ``--warmup`` steps are not
counted. Each measurement runs in a fresh subprocess (so peak memory is its own); with
``--compare REV`` the revision is checked out in a temporary git worktree and the two
revisions alternate round by round (A B B A ...), so a machine that gets busier or quieter
during the run affects both alike. Reported: the median over rounds of each subprocess'
median step time, and old/new ratios (> 1: this revision is faster).

Peak memory of a step: ``torch.cuda.max_memory_allocated`` during the timed steps on CUDA.
On CPU, the peak RSS during one steady-state step above the RSS when it starts (Linux'
``/proc/self/clear_refs`` resets the peak after the warm-up steps, so one-time costs such
as oneDNN's kernel caches are not counted), in a separate subprocess per (revision,
strategy) run with ``MALLOC_MMAP_THRESHOLD_=65536``: glibc otherwise keeps freed heap
blocks in its arenas, so RSS would reflect fragmentation as much as live tensors; above the
threshold every allocation is an mmap returned to the OS when freed, so RSS follows live
memory (too slow for the timing runs, which use the default).
CPU runs use ``--threads 1`` by default: on a shared 2-core machine more threads spin-wait
and make timings meaningless.

    .venv/bin/python benchmarks/search_step.py --channels 2 --layers 5 --batch 2 --image 8 --compare f6b520e
    .venv/bin/python benchmarks/search_step.py --op-set pibn --channels 8 --layers 5 --batch 16 --compare f6b520e
    .venv/bin/python benchmarks/search_step.py --op-set pibn --channels 16 --layers 8 --batch 64 --device cuda
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import warnings
from pathlib import Path
from typing import Any

from _compare import label, revisions, rounds, run_worker
from _rss import PeakRSS

STRATEGIES = ("darts", "darts2")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    p.add_argument("--op-set", default="pibn", help="op set of the space (pibn: the paper's 10 ops; darts: DARTS' 8)")
    p.add_argument("--channels", type=int, default=16)
    p.add_argument("--layers", type=int, default=8)
    p.add_argument("--nodes", type=int, default=4)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--image", type=int, default=32, help="image side (CIFAR: 32)")
    p.add_argument("--steps", type=int, default=3, help="timed steps per subprocess")
    p.add_argument("--warmup", type=int, default=1, help="untimed steps first")
    p.add_argument("--threads", type=int, default=1, help="torch intra-op threads (0: torch's default)")
    p.add_argument("--strategies", nargs="+", choices=STRATEGIES, default=list(STRATEGIES))
    p.add_argument("--compare", metavar="REV", help="also time git revision REV (a worktree), alternating")
    p.add_argument("--rounds", type=int, default=3, help="subprocesses per (revision, strategy)")
    p.add_argument("--hvp", choices=("exact", "finite_difference"),
                   help="darts2's implicit term in this tree (default: the config's); an older revision "
                        "without the key runs its own (finite differences)")
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
    rss = PeakRSS()

    def sync() -> None:
        if cuda:
            torch.cuda.synchronize()

    class StepTimer(pl.Callback):
        def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
            sync()
            if batch_idx == args.warmup:  # the first timed step: memory from here on
                if cuda:
                    torch.cuda.reset_peak_memory_stats()
                else:
                    rss.start()  # peak RSS := current RSS
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
        "limit_val_batches": 0, "enable_checkpointing": False, "logger": False, "enable_progress_bar": False,
        "enable_model_summary": False,
    }
    space = PIBSpace(op_set=args.op_set, channels=args.channels, layers=args.layers, nodes=args.nodes)
    evaluator = build_search_evaluator(*loaders, trainer)
    if args.hvp and args.worker == "darts2":
        from nni_pibn.search.config import SearchConfig

        strategy = build_strategy(args.worker, SearchConfig(strategy=args.worker, hvp=args.hvp))
    else:
        strategy = build_strategy(args.worker)
    run_search(strategy, space, evaluator, callbacks=[StepTimer()], seed=0)
    peak_mb = torch.cuda.max_memory_allocated() / 2**20 if cuda else rss.mib()
    return {"median_s": statistics.median(times), "peak_mb": peak_mb, "steps": len(times)}


def _measure(root: Path, strategy: str, passthrough: list[str], threads: int, memory: bool = False,
             hvp: str | None = None) -> dict[str, Any]:
    """One worker subprocess importing nni_pibn from ``root`` (``memory``: the CPU memory pass)."""
    extra, env = (["--hvp", hvp] if hvp else []), {}
    if memory:
        env["MALLOC_MMAP_THRESHOLD_"] = "65536"
        extra += ["--steps", "1", "--warmup", "2"]
    return run_worker(__file__, root, [*passthrough, *extra, "--worker", strategy], threads, env)


def _hvp(args: argparse.Namespace, rev: str) -> str | None:
    return args.hvp if rev == "new" else None


def _passthrough(argv: list[str]) -> list[str]:
    """The command line without ``--compare``/``--rounds``/``--strategies``/``--hvp`` (workers take
    one strategy; ``--hvp`` goes to this tree's workers only)."""
    out, i = [], 0
    while i < len(argv):
        a = argv[i]
        if a in ("--compare", "--rounds", "--hvp"):
            i += 2
        elif a == "--strategies":
            i += 1
            while i < len(argv) and not argv[i].startswith("--"):
                i += 1
        else:
            out.append(a)
            i += 1
    return out


def main(argv: list[str] | None = None) -> int:
    argv = list(argv if argv is not None else sys.argv[1:])
    args = _parser().parse_args(argv)
    if args.worker:
        print(json.dumps(_worker(args)))
        return 0
    passthrough = _passthrough(argv)
    results: dict[tuple[str, str], list[dict[str, Any]]] = {}
    with revisions(args.compare) as roots:
        for r, rev in rounds(list(roots), args.rounds):
            for strategy in args.strategies:
                res = _measure(roots[rev], strategy, passthrough, args.threads, hvp=_hvp(args, rev))
                results.setdefault((rev, strategy), []).append(res)
                print(f"round {r + 1}/{args.rounds} {rev:>3} {strategy:<7} {res['median_s']:.4f} s/step", flush=True)
        if args.device == "cpu":
            for rev in roots:
                for strategy in args.strategies:
                    peak = _measure(roots[rev], strategy, passthrough, args.threads, memory=True,
                                    hvp=_hvp(args, rev))["peak_mb"]
                    for res in results[(rev, strategy)]:
                        res["peak_mb"] = peak
                    print(f"memory pass {rev:>3} {strategy:<7} {peak:.1f} MiB", flush=True)
        revs = list(roots)
    _report(args, results, revs)
    return 0


def _report(args: argparse.Namespace, results: dict[tuple[str, str], list[dict[str, Any]]], revs: list[str]) -> None:
    mem = "peak CUDA MiB" if args.device == "cuda" else "step peak MiB (RSS)"
    names = {rev: label(rev, args.compare) for rev in revs}
    print(f"\nspace: op set {args.op_set}, C {args.channels}, {args.layers} cells, {args.nodes} nodes; batch "
          f"{args.batch} x {args.image}x{args.image}; {args.device}; {args.steps} timed steps after {args.warmup} "
          f"warm-up per subprocess, {args.rounds} rounds; {args.threads or 'default'} thread(s)")
    print(f"{'revision':<22} {'strategy':<8} {'median s/step':>14} {mem:>20}")
    summary: dict[tuple[str, str], tuple[float, float]] = {}
    for rev in revs:
        for strategy in args.strategies:
            runs = results[(rev, strategy)]
            t = statistics.median(r["median_s"] for r in runs)
            m = statistics.median(r["peak_mb"] for r in runs)
            summary[(rev, strategy)] = (t, m)
            print(f"{names[rev]:<22} {strategy:<8} {t:>14.4f} {m:>20.1f}")
    if "old" in revs:
        for strategy in args.strategies:
            (to, mo), (tn, mn) = summary[("old", strategy)], summary[("new", strategy)]
            mem_ratio = mn / mo if mo > 0 else float("nan")
            print(f"{strategy}: old/new time x{to / tn:.2f} (new is {to / tn:.2f}x faster), "
                  f"new/old memory x{mem_ratio:.2f}")
    if len(args.strategies) == 2:
        for rev in revs:
            (t1, _), (t2, _) = summary[(rev, "darts")], summary[(rev, "darts2")]
            print(f"{names[rev]}: second/first order time x{t2 / t1:.2f}")


if __name__ == "__main__":
    sys.exit(main())
