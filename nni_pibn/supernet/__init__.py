"""The search supernet's fast path: DARTS' mixed cell computed edge-batched.

:class:`FusedMixedCell` replaces NNI's ``DifferentiableMixedCell`` (same parameters, same
numbers, far fewer kernels); ``batching`` turns E copies of an op into one batched op.
"""

from .batching import LoopedOp, NotBatchable, batch_op, batch_or_loop, unbatch_state
from .cell import EdgeGroup, FusedMixedCell, install_pass_scope, remove_pass_scope

__all__ = [
    "EdgeGroup",
    "FusedMixedCell",
    "LoopedOp",
    "NotBatchable",
    "batch_op",
    "batch_or_loop",
    "install_pass_scope",
    "remove_pass_scope",
    "unbatch_state",
]
