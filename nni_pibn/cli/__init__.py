"""The ``nni-pibn`` command line: a thin layer over the library.

Each subcommand lives in its own module with ``add_parser(subparsers)`` and
``run(args) -> int``; heavy imports happen inside ``run`` so ``--help`` is fast.
A :class:`~nni_pibn.errors.UserError` (bad input) prints one line and exits with 2; so
does an ``OSError`` about a path (too long a name, no permission, a file where a folder
should be), the last resort for a path no check caught earlier.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from ..errors import UserError
from ..noise import silence_known_noise

#: subcommand modules, in ``--help`` order.
COMMANDS = ["profile", "search", "train", "pipeline", "experiment", "report", "plot", "gradcam"]


class _Parser(argparse.ArgumentParser):
    """argparse with a one-line error (no usage dump) and exit status 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UserError(f"{message} (see {self.prog} --help)")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="nni-pibn", description=__doc__.splitlines()[0] if __doc__ else None)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    for name in COMMANDS:
        try:
            module = importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"{__name__}.{name}":
                continue  # subcommand not built yet
            raise
        module.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    try:
        argv = list(sys.argv[1:] if argv is None else argv)
        silence_known_noise(quiet="--quiet" in argv)  # before the imports that warn
        args = build_parser().parse_args(argv)
        return int(args.run(args) or 0)
    except UserError as exc:
        print(f"nni-pibn: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # a path the system refuses (too long a name, no permission, below a file, disk full)
        where = f" {str(exc.filename)[:80]!r}" if exc.filename else ""
        print(f"nni-pibn: error: cannot use{where}: {exc.strerror or exc}; choose another path or free space",
              file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("nni-pibn: interrupted", file=sys.stderr)
        return 130
