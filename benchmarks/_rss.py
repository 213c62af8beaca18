"""Peak resident memory of a stretch of code, on Linux.

:meth:`PeakRSS.start` resets the process' peak RSS to its current RSS (``/proc/self/clear_refs``)
and notes that RSS; :meth:`PeakRSS.mib` is how far the peak rose above it since, in MiB.
"""

from __future__ import annotations

from pathlib import Path


def status_kib(field: str) -> int:
    """A ``kB`` field of ``/proc/self/status`` (VmRSS: resident now, VmHWM: peak resident)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"/proc/self/status has no {field}")


class PeakRSS:
    def __init__(self) -> None:
        self.before = 0

    def start(self) -> None:
        Path("/proc/self/clear_refs").write_text("5")  # peak RSS := current RSS
        self.before = status_kib("VmRSS")

    def mib(self) -> float:
        return (status_kib("VmHWM") - self.before) / 1024
