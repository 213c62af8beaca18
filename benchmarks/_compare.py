"""Running a benchmark worker against two revisions of nni_pibn in one run.

A worker is the benchmark script itself with ``--worker ...``: it measures one thing and
prints one JSON line. :func:`revisions` yields ``{"new": this tree}`` and, with a
revision, ``"old"``: a temporary git worktree of it; :func:`run_worker` runs a worker
importing nni_pibn from the given tree and only from it (its folder first on
``PYTHONPATH``; pip's editable-install finder, which would resolve a module the old tree
lacks to this tree's, is switched off in the worker), one torch thread unless asked
otherwise; :func:`rounds` alternates the order of the revisions round by round (A B, B A,
...), so drift of a shared machine hits both alike.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
ROOT_ENV = "NNI_PIBN_BENCH_ROOT"  #: set in a worker: the tree its nni_pibn must come from


def _isolate() -> None:
    """In a worker, drops the editable-install finder of nni_pibn from ``sys.meta_path``:
    it maps ``nni_pibn.X`` to this tree's file even when ``nni_pibn`` itself was imported
    from an older tree on ``PYTHONPATH``, so ``from nni_pibn import layout`` would succeed
    in a revision that has no layout module (and measure this tree's code as the old one)."""
    if os.environ.get(ROOT_ENV):
        sys.meta_path[:] = [f for f in sys.meta_path
                            if not str(getattr(f, "__module__", "")).startswith("__editable__")]


_isolate()


@contextlib.contextmanager
def revisions(compare: str | None) -> Iterator[dict[str, Path]]:
    """``{"old": worktree of compare, "new": REPO}`` (``{"new": REPO}`` without ``compare``)."""
    if not compare:
        yield {"new": REPO}
        return
    with tempfile.TemporaryDirectory(prefix="nni_pibn_bench_") as tmp:
        path = Path(tmp) / "old"
        subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", str(path), compare],
                       check=True, capture_output=True, text=True)
        try:
            yield {"old": path, "new": REPO}
        finally:
            subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(path)],
                           capture_output=True, check=False)


def rounds(revs: Sequence[str], n: int) -> Iterator[tuple[int, str]]:
    for r in range(n):
        for rev in (revs if r % 2 == 0 else list(reversed(revs))):
            yield r, rev


def run_worker(script: str | Path, root: Path, args: Sequence[str], threads: int = 1,
               env_extra: dict[str, str] | None = None) -> dict[str, Any]:
    """Runs ``script args`` with nni_pibn imported from ``root``; returns its last stdout line as JSON."""
    env = {**os.environ, "PYTHONPATH": f"{root}{os.pathsep}{os.environ.get('PYTHONPATH', '')}", ROOT_ENV: str(root),
           **(env_extra or {})}
    if threads:
        env["OMP_NUM_THREADS"] = str(threads)
    out = subprocess.run([sys.executable, str(script), *args], capture_output=True, text=True, check=False,
                         env=env, cwd=root)
    if out.returncode != 0:
        raise RuntimeError(f"worker failed ({root}, {' '.join(args)}):\n{out.stderr[-4000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def label(rev: str, compare: str | None) -> str:
    return f"old ({compare})" if rev == "old" else "new (this tree)"
