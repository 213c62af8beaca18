"""Median time of one retraining step (forward, backward, grad clip, SGD step) per genotype and depth.

    .venv/bin/python benchmarks/train_step.py                      # CPU: PIB and DARTS-V2 at 8 and 20 cells
    .venv/bin/python benchmarks/train_step.py --device cuda        # GPU: also fp32 vs 16-mixed + channels_last

The step is the one ``nni-pibn train`` runs: NetworkCIFAR with its auxiliary head (weight
0.4) and drop path 0.2, C 36, SGD with momentum and weight decay, gradient clipping at 5,
on random 32x32 images. On CUDA the second table compares fp32 against autocast fp16 with a
GradScaler and NHWC (``channels_last``) weights and inputs, at batch 96 (the paper's).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from typing import Any

import torch

from nni_pibn.genotype import load_genotype
from nni_pibn.network import NetworkCIFAR
from nni_pibn.retrain.module import retrain_loss


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def step_times(genotype: str, layers: int, channels: int, batch: int, device: torch.device, steps: int,
               warmup: int, amp: bool = False, channels_last: bool = False) -> list[float]:
    """Seconds of each of ``steps`` timed training steps (after ``warmup`` untimed ones)."""
    torch.manual_seed(0)
    net = NetworkCIFAR(load_genotype(genotype), channels, layers, 10, auxiliary=True).to(device).train()
    net.drop_path_prob = 0.2
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    net = net.to(memory_format=fmt)
    opt = torch.optim.SGD(net.parameters(), lr=0.025, momentum=0.9, weight_decay=3e-4)
    scaler = torch.amp.GradScaler(device.type, enabled=amp)
    x = torch.randn(batch, 3, 32, 32, device=device).contiguous(memory_format=fmt)
    y = torch.randint(0, 10, (batch,), device=device)
    times = []
    for i in range(warmup + steps):
        _sync(device)
        start = time.perf_counter()
        with torch.autocast(device.type, dtype=torch.float16, enabled=amp):
            logits, aux = net(x)
            loss = retrain_loss(logits, aux, y, 0.4)
        opt.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.unscale_(opt)
        torch.nn.utils.clip_grad_norm_(net.parameters(), 5.0)
        scaler.step(opt)
        scaler.update()
        _sync(device)
        if i >= warmup:
            times.append(time.perf_counter() - start)
    return times


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    p.add_argument("--genotypes", nargs="+", default=["pibn", "darts_v2"])
    p.add_argument("--layers", type=int, nargs="+", default=[8, 20])
    p.add_argument("--channels", type=int, default=36)
    p.add_argument("--batch", type=int, default=32, help="batch of the fp32 table (default 32)")
    p.add_argument("--amp-batch", type=int, default=96, help="batch of the CUDA fp32-vs-AMP table (default 96)")
    p.add_argument("--steps", type=int, default=None, help="timed steps (default 5 on CPU, 30 on CUDA)")
    p.add_argument("--warmup", type=int, default=None, help="untimed steps first (default 2 on CPU, 10 on CUDA)")
    p.add_argument("--json", action="store_true", help="print the rows as JSON too")
    args = p.parse_args(argv)
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        p.error("--device cuda: no CUDA device here")
    gpu = device.type == "cuda"
    torch.backends.cudnn.benchmark = True  # as the Trainer sets it
    steps = args.steps or (30 if gpu else 5)
    warmup = args.warmup if args.warmup is not None else (10 if gpu else 2)
    name = torch.cuda.get_device_name(device) if gpu else f"CPU, {torch.get_num_threads()} threads"
    print(f"device: {name}; torch {torch.__version__}; C={args.channels}; {steps} timed steps after {warmup}")
    rows: list[dict[str, Any]] = []
    print(f"\nfp32, batch {args.batch}, auxiliary head + drop path 0.2")
    print(f"{'genotype':>9} {'layers':>6} {'median ms':>10} {'images/s':>9}")
    for g in args.genotypes:
        for n in args.layers:
            t = statistics.median(step_times(g, n, args.channels, args.batch, device, steps, warmup))
            rows.append({"genotype": g, "layers": n, "batch": args.batch, "mode": "fp32", "median_s": t,
                         "images_per_s": args.batch / t, "device": name})
            print(f"{g:>9} {n:>6} {1000 * t:>10.1f} {args.batch / t:>9.1f}", flush=True)
    if gpu:
        b = args.amp_batch
        print(f"\nbatch {b}: fp32 against 16-mixed autocast + channels_last")
        print(f"{'genotype':>9} {'layers':>6} {'fp32 ms':>9} {'amp+cl ms':>10} {'speed-up':>9} {'amp img/s':>10}")
        for g in args.genotypes:
            for n in args.layers:
                t32 = statistics.median(step_times(g, n, args.channels, b, device, steps, warmup))
                t16 = statistics.median(step_times(g, n, args.channels, b, device, steps, warmup, True, True))
                rows.append({"genotype": g, "layers": n, "batch": b, "mode": "fp32", "median_s": t32,
                             "images_per_s": b / t32, "device": name})
                rows.append({"genotype": g, "layers": n, "batch": b, "mode": "16-mixed+channels_last",
                             "median_s": t16, "images_per_s": b / t16, "speedup": t32 / t16, "device": name})
                print(f"{g:>9} {n:>6} {1000 * t32:>9.1f} {1000 * t16:>10.1f} {t32 / t16:>8.2f}x {b / t16:>10.0f}",
                      flush=True)
    if args.json:
        print(json.dumps(rows, indent=2))
    return rows


if __name__ == "__main__":
    main()
