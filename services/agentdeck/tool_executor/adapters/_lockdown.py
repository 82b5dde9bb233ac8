"""The sandbox child's lockdown: every restriction, in the only order that works.

Standard library only (it runs in the child before the tool's code). Order
matters: privileges are dropped while the process may still do so, rlimits
are set before anything could raise them, Landlock needs ``no_new_privs``, and
the seccomp filter comes last because it forbids the calls made before it.
Any step that fails raises; the child then refuses to run the tool.
"""

from __future__ import annotations

import ctypes
import os
import resource
import signal
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from agentdeck.tool_executor.adapters import _landlock, _seccomp

__all__ = ["interpreter_paths", "lock_down"]

_PR_SET_PDEATHSIG = 1
_CAPABILITY_VERSION_3 = 0x20080522
_PACKAGE_DIRS = frozenset({"site-packages", "dist-packages"})


def interpreter_paths(path: Iterable[str]) -> list[str]:
    """What the interpreter needs to read: its standard library, without installed packages.

    ``path`` is the interpreter's own ``sys.path`` under ``-I -S``. The library
    directory may hold ``site-packages`` (a Docker image's installs live
    there), so it is listed entry by entry, leaving that out.
    """
    readable: list[str] = []
    for directory in dict.fromkeys(Path(p) for p in path if Path(p).is_dir()):
        entries = sorted(directory.iterdir())
        if _PACKAGE_DIRS.isdisjoint(e.name for e in entries):
            readable.append(str(directory))
            continue
        readable += [
            str(e) for e in entries if e.name not in _PACKAGE_DIRS and _inside(e, directory)
        ]
    return readable


def _inside(entry: Path, directory: Path) -> bool:
    # A link out of the library (Debian's sitecustomize.py into /etc) is not the library.
    return entry.resolve().is_relative_to(directory.resolve())


def _die_with_parent() -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(_PR_SET_PDEATHSIG, ctypes.c_ulong(signal.SIGKILL), 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "PR_SET_PDEATHSIG refused")
    if os.getppid() == 1:  # the executor died before the line above took effect
        raise OSError("the executor is gone")


class _CapHeader(ctypes.Structure):
    _fields_ = (("version", ctypes.c_uint32), ("pid", ctypes.c_int))


class _CapData(ctypes.Structure):
    _fields_ = (
        ("effective", ctypes.c_uint32),
        ("permitted", ctypes.c_uint32),
        ("inheritable", ctypes.c_uint32),
    )


def _drop_capabilities() -> None:
    # A root executor's child keeps user id 0 (its interpreter may sit where
    # only root can read) but loses every capability, so root is an ordinary
    # owner of its files, and Landlock, which ignores ownership, does the rest.
    libc = ctypes.CDLL(None, use_errno=True)
    header, data = _CapHeader(_CAPABILITY_VERSION_3, 0), (_CapData * 2)()
    if libc.capset(ctypes.byref(header), data) != 0:
        raise OSError(ctypes.get_errno(), "capset refused")
    with open("/proc/self/status", encoding="ascii") as status:  # noqa: PTH123 - stdlib only
        effective = next(line for line in status if line.startswith("CapEff:"))
    if int(effective.split()[1], 16):
        raise OSError("capabilities are still in effect")


def _limit(limits: dict[str, int]) -> None:
    cpu = limits["cpu_s"]
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    resource.setrlimit(resource.RLIMIT_AS, (limits["memory_bytes"],) * 2)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limits["file_bytes"],) * 2)
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))
    resource.setrlimit(resource.RLIMIT_NPROC, (0, 0))  # not even a thread


def lock_down(*, scratch: str, readable: list[str], limits: dict[str, int]) -> dict[str, Any]:
    """Confine this process to ``scratch`` (read-write) and ``readable`` (read-only), for good.

    Returns what is in force, for the isolation report.
    """
    if not _seccomp.supported():
        raise OSError("no seccomp filter for this architecture")
    _die_with_parent()
    _drop_capabilities()
    _limit(limits)
    os.environ.clear()
    _seccomp.no_new_privs()
    confinement = _landlock.confine(readable, [scratch])
    _seccomp.install(_seccomp.sandbox_program(os.getpid(), confinement.abi))
    sys.dont_write_bytecode = True
    return {
        "landlock_abi": confinement.abi,
        "landlock_tcp": confinement.net_tcp,
        "landlock_scopes": list(confinement.scopes),
        "seccomp": "kill-on-violation",
        "uid": os.getuid(),
    }
