"""``nni-pibn experiment``: ``nnictl create`` an experiment config and follow it to the end.

    nni-pibn experiment experiments/quick.yml --port 8080

While it waits it prints a line per change of the trial counts and one per new result,
e.g. ``trial Ab12c: search epoch 2/3, search_val_acc 0.8125``. A manager that stops during
start-up (``trialGpuNumber`` without a GPU driver, say) is a one-line error: the first
ERROR line of its ``nnimanager.log``, exit status 2.
"""

from __future__ import annotations

import argparse


def port_number(text: str) -> int:
    """argparse type: a TCP port, 1..65535 (anything else is a one-line usage error)."""
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{port} is outside 1-65535")
    return port


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("experiment", help="start an NNI experiment (nnictl create) and wait for it to finish",
                       description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("config", help="NNI experiment YAML, e.g. experiments/quick.yml")
    p.add_argument("--port", type=port_number, default=8080, help="web UI / REST port, 1-65535 (default 8080)")
    p.add_argument("--timeout", type=float, default=None, help="give up waiting after this many seconds")
    p.add_argument("--stop", action="store_true", help="stop the NNI manager when done (default: keep the web UI up)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from .. import nnictl
    from ..errors import UserError

    exp_id = nnictl.create(args.config, args.port)
    url = f"http://127.0.0.1:{args.port}"
    print(f"experiment {exp_id} started; web UI: {url}", flush=True)

    def echo(line: str) -> None:
        print(line, flush=True)

    try:
        status = nnictl.wait(args.port, args.timeout, on_change=echo, exp_id=exp_id, on_result=echo)
        jobs = nnictl.rest(args.port, "trial-jobs")
    except UserError:
        if nnictl.manager_running(exp_id):
            nnictl.stop(exp_id, args.port)
        raise
    except KeyboardInterrupt:
        nnictl.stop(exp_id, args.port)
        raise
    for job in jobs:
        finals = [m for m in job.get("finalMetricData", []) if m.get("type") == "FINAL"]
        value = nnictl.metrics_value(finals[-1]["data"]) if finals else None
        shown = f"final {value:.4f}" if isinstance(value, float) else "no final result"
        print(f"trial {job['trialJobId']}: {job['status']}, {shown}, outputs in {job.get('logPath')}")
    print(f"report: nni-pibn report {exp_id}")
    if args.stop:
        nnictl.stop(exp_id, args.port)
        print(f"stopped; view it again with: nnictl view {exp_id} --port {args.port}")
    else:
        print(f"web UI still up at {url}; stop it with: nnictl stop {exp_id}")
    return 0 if status.get("status") == "DONE" else 1
