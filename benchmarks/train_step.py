"""Median time of one retraining step (forward, backward, grad clip, SGD step) per genotype and
depth, optionally against another git revision of nni_pibn in the same run.

    .venv/bin/python benchmarks/train_step.py                           # CPU: PIB and DARTS-V2 at 8 and 20 cells
    .venv/bin/python benchmarks/train_step.py --layers 8 --compare f6b520e   # old/new ratios, alternating rounds
    .venv/bin/python benchmarks/train_step.py --device cuda --modes all  # GPU: precision x memory format table

The step is the one ``nni-pibn train`` runs: NetworkCIFAR with its auxiliary head (weight
0.4) and drop path 0.2, C 36, SGD with momentum and weight decay, gradient clipping at 5,
on random 32x32 images, with the product's defaults for the device: the memory format of
``nni_pibn.layout`` (``auto``: channels_last on CPU) where the measured revision has it.
Each measurement is a fresh subprocess; with ``--compare REV`` the revisions alternate
round by round and the report gives the median over rounds and old/new ratios.
``--modes`` adds rows per precision (fp32, bf16-mixed, 16-mixed with a GradScaler) and
memory format (NCHW, NHWC), e.g. ``--modes fp32:contiguous 16-mixed:channels_last``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from typing import Any

from _compare import label, revisions, rounds, run_worker

PRECISIONS = ("fp32", "bf16-mixed", "16-mixed")
FORMATS = ("contiguous", "channels_last")


def _step_times(args: argparse.Namespace) -> list[float]:
    """Seconds of each timed training step in this process (``args`` describes one measurement)."""
    import torch

    from nni_pibn.genotype import load_genotype
    from nni_pibn.network import NetworkCIFAR
    from nni_pibn.retrain.module import retrain_loss

    device = torch.device(args.device)
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.backends.cudnn.benchmark = True  # as the Trainer sets it
    precision, fmt_name = args.mode.split(":") if args.mode else ("fp32", None)
    if fmt_name is None:  # the product's default for this device, where the revision has one
        try:
            from nni_pibn import layout

            fmt = layout.resolve("auto", device)
        except ImportError:
            fmt = torch.contiguous_format
    else:
        fmt = torch.channels_last if fmt_name == "channels_last" else torch.contiguous_format
    torch.manual_seed(0)
    net = NetworkCIFAR(load_genotype(args.genotype), args.channels, args.layers[0], 10, auxiliary=True)
    net = net.to(device).train().to(memory_format=fmt)
    net.drop_path_prob = 0.2
    opt = torch.optim.SGD(net.parameters(), lr=0.025, momentum=0.9, weight_decay=3e-4)
    amp = precision != "fp32"
    dtype = torch.bfloat16 if precision == "bf16-mixed" else torch.float16
    scaler = torch.amp.GradScaler(device.type, enabled=precision == "16-mixed")
    x = torch.randn(args.batch, 3, 32, 32, device=device).contiguous(memory_format=fmt)
    y = torch.randint(0, 10, (args.batch,), device=device)
    times = []
    for i in range(args.warmup + args.steps):
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        start = time.perf_counter()
        with torch.autocast(device.type, dtype=dtype, enabled=amp):
            logits, aux = net(x)
            loss = retrain_loss(logits, aux, y, 0.4)
        opt.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.unscale_(opt)
        torch.nn.utils.clip_grad_norm_(net.parameters(), 5.0)
        scaler.step(opt)
        scaler.update()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        if i >= args.warmup:
            times.append(time.perf_counter() - start)
    return times


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    p.add_argument("--genotypes", nargs="+", default=["pibn", "darts_v2"])
    p.add_argument("--layers", type=int, nargs="+", default=[8, 20])
    p.add_argument("--channels", type=int, default=36)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--steps", type=int, default=None, help="timed steps (default 3 on CPU, 30 on CUDA)")
    p.add_argument("--warmup", type=int, default=None, help="untimed steps first (default 1 on CPU, 10 on CUDA)")
    p.add_argument("--threads", type=int, default=1, help="torch intra-op threads on CPU (0: torch's default)")
    p.add_argument("--modes", nargs="+", default=[],
                   help="extra PRECISION:FORMAT rows (fp32|bf16-mixed|16-mixed : contiguous|channels_last), or 'all'")
    p.add_argument("--compare", metavar="REV", help="also time git revision REV (a worktree), alternating")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--json", action="store_true", help="print the rows as JSON too")
    # one measurement (a worker subprocess):
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--genotype", help=argparse.SUPPRESS)
    p.add_argument("--mode", help=argparse.SUPPRESS)
    return p


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    args = _parser().parse_args(argv)
    gpu = args.device == "cuda"
    args.steps = args.steps or (30 if gpu else 3)
    args.warmup = args.warmup if args.warmup is not None else (10 if gpu else 1)
    if args.worker:
        print(json.dumps({"median_s": statistics.median(_step_times(args))}))
        return []
    modes = [f"{p}:{f}" for p in PRECISIONS for f in FORMATS] if args.modes == ["all"] else list(args.modes)
    for m in modes:
        p_, _, f_ = m.partition(":")
        if p_ not in PRECISIONS or f_ not in FORMATS:
            raise SystemExit(f"--modes {m}: expected PRECISION:FORMAT, {'|'.join(PRECISIONS)} : {'|'.join(FORMATS)}")
    cases = [(g, n, None) for g in args.genotypes for n in args.layers] + \
            [(g, n, m) for m in modes for g in args.genotypes for n in args.layers]
    common = ["--device", args.device, "--channels", str(args.channels), "--batch", str(args.batch),
              "--steps", str(args.steps), "--warmup", str(args.warmup), "--threads", str(args.threads)]
    times: dict[tuple[str, Any], list[float]] = {}
    with revisions(args.compare) as roots:
        for r, rev in rounds(list(roots), args.rounds):
            for g, n, m in cases:
                extra = ["--worker", "--genotype", g, "--layers", str(n)] + (["--mode", m] if m else [])
                t = run_worker(__file__, roots[rev], common + extra, args.threads if not gpu else 0)["median_s"]
                times.setdefault((rev, (g, n, m)), []).append(t)
                print(f"round {r + 1}/{args.rounds} {rev:>3} {g} {n} cells {m or 'default'}: {1000 * t:.1f} ms",
                      flush=True)
        revs = list(roots)
    rows = _report(args, times, revs, cases)
    if args.json:
        print(json.dumps(rows, indent=2))
    return rows


def _report(args: argparse.Namespace, times: dict[tuple[str, Any], list[float]], revs: list[str],
            cases: list[tuple[str, int, str | None]]) -> list[dict[str, Any]]:
    print(f"\n{args.device}, C {args.channels}, batch {args.batch}, aux head + drop path 0.2; {args.steps} timed steps "
          f"after {args.warmup} per subprocess, median over {args.rounds} rounds")
    print(f"{'revision':<20} {'genotype':>9} {'layers':>6} {'mode':>24} {'median ms':>10} {'images/s':>9}")
    rows, med = [], {}
    for rev in revs:
        for case in cases:
            g, n, m = case
            t = statistics.median(times[(rev, case)])
            med[(rev, case)] = t
            rows.append({"revision": rev, "genotype": g, "layers": n, "mode": m or "default", "median_s": t,
                         "images_per_s": args.batch / t})
            print(f"{label(rev, args.compare):<20} {g:>9} {n:>6} {m or 'default':>24} {1000 * t:>10.1f} "
                  f"{args.batch / t:>9.1f}")
    if "old" in revs:
        for case in cases:
            ratio = med[("old", case)] / med[("new", case)]
            print(f"{case[0]} {case[1]} cells {case[2] or 'default'}: old/new x{ratio:.2f} "
                  f"(new is {ratio:.2f}x faster)")
    return rows


if __name__ == "__main__":
    main()
    sys.exit(0)
