"""The benchmarks' revision comparison measures each revision's own code."""

from __future__ import annotations

import json
import sys
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

from _compare import run_worker  # noqa: E402

WORKER = f"""
import json, sys
sys.path.insert(0, {str(BENCHMARKS)!r})
import _compare  # noqa: F401  (isolates the worker's imports)
import nni_pibn
try:
    from nni_pibn import layout
    layout_file = layout.__file__
except ImportError:
    layout_file = None
print(json.dumps({{"package": nni_pibn.__file__, "layout": layout_file}}))
"""


def test_a_worker_of_an_older_tree_never_imports_this_trees_modules(tmp_path: Path) -> None:
    """An older revision without ``nni_pibn/layout.py``: its worker imports its own package and
    finds no layout module, although this tree (installed editable) has one."""
    old = tmp_path / "old"
    (old / "nni_pibn").mkdir(parents=True)
    (old / "nni_pibn" / "__init__.py").write_text("")
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    seen = run_worker(script, old, [], threads=1)
    assert Path(seen["package"]).resolve() == (old / "nni_pibn" / "__init__.py").resolve()
    assert seen["layout"] is None
    new = run_worker(script, BENCHMARKS.parent, [], threads=1)
    assert Path(new["layout"]).resolve() == (BENCHMARKS.parent / "nni_pibn" / "layout.py").resolve()
    assert json.dumps(seen)  # plain JSON back
