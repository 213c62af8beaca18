"""The one exception type the CLI turns into a one-line message and exit status 2."""

from __future__ import annotations


class UserError(Exception):
    """Bad input from the user: a malformed genotype, config, unknown name, missing file.

    The message is a single line that names the problem and the fix; the CLI prints it
    as ``nni-pibn: error: <message>`` and exits with status 2, without a traceback.
    """
