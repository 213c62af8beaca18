"""Known third-party noise, silenced once at the command line's entry point.

Every line below was seen in the stderr of a plain run (and of every NNI trial) and says
nothing the user can act on. Each entry names why it is harmless, so a new library version
that turns one of them into a real problem is easy to re-judge. Anything not listed still
shows.
"""

from __future__ import annotations

import logging
import re
import warnings

#: (message pattern, why it is harmless) for ``warnings`` raised by libraries.
KNOWN_WARNINGS = (
    (r"When using training service to spawn trials, please try to wrap PyTorch DataLoader",
     "NNI's one-shot evaluator: only matters when NNI ships the evaluator to another process; "
     "our trials build their loaders themselves"),
    (r"`isinstance\(treespec, LeafSpec\)` is deprecated", "Lightning's own use of a torch API"),
    (r"distutils Version classes are deprecated", "thop's torch version check at import"),
)
#: Lightning's info lines always dropped: an advert.
ADVERTS = (re.compile(r"^\W*Tip: "),)
#: Lightning's start-up banner, dropped under ``--quiet``: NNIReport prints the device instead.
BANNER = re.compile(r"^(GPU|TPU|HPU|IPU) available: ")
#: where Lightning logs its rank-zero info lines (the package that was imported last wins).
LIGHTNING_LOGGERS = ("pytorch_lightning.utilities.rank_zero", "lightning_fabric.utilities.rank_zero",
                     "lightning_utilities.core.rank_zero")


class _DropLines(logging.Filter):
    def __init__(self, quiet: bool) -> None:
        super().__init__()
        self.patterns = ADVERTS + ((BANNER,) if quiet else ())

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not any(p.search(message) for p in self.patterns)


def _is_known(message: Warning | str) -> bool:
    return any(re.match(pattern, str(message)) for pattern, _why in KNOWN_WARNINGS)


def _drop_known(show):  # type: ignore[no-untyped-def]
    def showwarning(message, *args, **kwargs):  # type: ignore[no-untyped-def]
        if not _is_known(message):
            show(message, *args, **kwargs)

    showwarning.drops_known_noise = True  # type: ignore[attr-defined]
    return showwarning


def silence_known_noise(quiet: bool = False) -> None:
    """Ignores :data:`KNOWN_WARNINGS` and drops Lightning's advert (and banner when ``quiet``).

    Filters alone are not enough: an import may put its own filter in front of ours (gym, which
    NNI's ENAS strategy imports, adds ``once`` for every DeprecationWarning), so the known
    messages are also dropped where warnings are shown."""
    for pattern, _why in KNOWN_WARNINGS:
        warnings.filterwarnings("ignore", message=pattern)
    if not getattr(warnings.showwarning, "drops_known_noise", False):
        warnings.showwarning = _drop_known(warnings.showwarning)
    for name in LIGHTNING_LOGGERS:
        logger = logging.getLogger(name)
        for old in [f for f in logger.filters if isinstance(f, _DropLines)]:
            logger.removeFilter(old)
        logger.addFilter(_DropLines(quiet))
