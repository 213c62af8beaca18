"""``nni-pibn search``: one-shot search of an NNI model space into a run folder."""

from .config import SearchConfig
from .runner import search

__all__ = ["SearchConfig", "search"]
