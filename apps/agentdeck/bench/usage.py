"""CPU time and peak memory of a process, read from ``/proc`` (Linux).

CPU is user plus system time in seconds; peak memory is the kernel's
high-water mark of the resident set (``VmHWM``), so no sampling can miss a
spike.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Usage", "pids_named", "total_usage", "usage_of"]

_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Usage:
    """What one process has used since it started."""

    cpu_s: float
    peak_rss_mb: float

    def minus(self, before: Usage) -> Usage:
        """CPU used since ``before``; the peak is the peak so far."""
        return Usage(self.cpu_s - before.cpu_s, self.peak_rss_mb)


def usage_of(pid: int) -> Usage | None:
    """``pid``'s usage so far; None once it has gone."""
    proc = Path("/proc") / str(pid)
    try:
        stat = (proc / "stat").read_text()
        status = (proc / "status").read_text()
    except OSError:
        return None
    # Fields after the parenthesised command name: utime and stime are 14th and 15th overall.
    fields = stat[stat.rindex(")") + 2 :].split()
    cpu = (int(fields[11]) + int(fields[12])) / _TICKS
    peak_kb = next(
        (int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM:")), 0
    )
    return Usage(cpu, peak_kb / 1024)


def pids_named(command: str) -> list[int]:
    """Processes whose command name is ``command`` (``postgres``, ``redis-server``)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() == command:
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def total_usage(pids: list[int]) -> Usage:
    """CPU summed over ``pids``; the largest of their peaks."""
    usages = [u for pid in pids if (u := usage_of(pid)) is not None]
    return Usage(sum(u.cpu_s for u in usages), max((u.peak_rss_mb for u in usages), default=0.0))
