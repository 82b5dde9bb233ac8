"""Landlock, through raw system calls: the sandbox child confines its own file system.

Imported by the sandbox child before it locks itself down, so standard library
only. Landlock needs no privilege: any process that has set ``no_new_privs``
may restrict itself, which is what makes it work for a non-root executor with
no capabilities. The ABI decides which rights exist; every right this kernel
knows is handled (denied unless a rule allows it), so a newer kernel never
leaves a right silently open.
"""

from __future__ import annotations

import ctypes
import os
import stat
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["Confinement", "abi_version", "confine"]

_CREATE_RULESET, _ADD_RULE, _RESTRICT_SELF = 444, 445, 446  # same number on every arch
_CREATE_RULESET_VERSION = 1
_RULE_PATH_BENEATH = 1

EXECUTE, WRITE_FILE, READ_FILE, READ_DIR = 1 << 0, 1 << 1, 1 << 2, 1 << 3
REMOVE_DIR, REMOVE_FILE, MAKE_CHAR, MAKE_DIR = 1 << 4, 1 << 5, 1 << 6, 1 << 7
MAKE_REG, MAKE_SOCK, MAKE_FIFO, MAKE_BLOCK = 1 << 8, 1 << 9, 1 << 10, 1 << 11
MAKE_SYM, REFER, TRUNCATE, IOCTL_DEV = 1 << 12, 1 << 13, 1 << 14, 1 << 15
_FILE_ONLY = EXECUTE | WRITE_FILE | READ_FILE | TRUNCATE | IOCTL_DEV
_NET_BIND_TCP, _NET_CONNECT_TCP = 1 << 0, 1 << 1
_SCOPE_ABSTRACT_UNIX, _SCOPE_SIGNAL = 1 << 0, 1 << 1

READ = READ_FILE | READ_DIR
SCRATCH = READ | WRITE_FILE | REMOVE_DIR | REMOVE_FILE | MAKE_DIR | MAKE_REG | MAKE_SYM
SCRATCH |= REFER | TRUNCATE  # renames inside the scratch directory; dropped where unknown


class _RulesetAttr(ctypes.Structure):
    _fields_ = (
        ("handled_access_fs", ctypes.c_uint64),
        ("handled_access_net", ctypes.c_uint64),
        ("scoped", ctypes.c_uint64),
    )


class _PathBeneathAttr(ctypes.Structure):
    _pack_ = 1
    _fields_ = (("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32))


@dataclass(frozen=True)
class Confinement:
    """What a Landlock domain enforces: the ABI and the rights it handles."""

    abi: int
    fs_rights: int
    net_tcp: bool
    scopes: tuple[str, ...]


def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


def _syscall(libc: ctypes.CDLL, *args: object) -> int:
    # Variadic: integers must travel as longs, or their upper halves are garbage.
    wide = [ctypes.c_long(a) if isinstance(a, int) else a for a in args]
    return int(libc.syscall(*wide))


def _check(result: int, what: str) -> int:
    if result < 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")
    return result


def abi_version() -> int:
    """The kernel's Landlock ABI version; 0 if Landlock is missing or disabled."""
    return max(_syscall(_libc(), _CREATE_RULESET, None, 0, _CREATE_RULESET_VERSION), 0)


def _fs_rights(abi: int) -> int:
    rights = (1 << 13) - 1  # ABI 1: EXECUTE .. MAKE_SYM
    if abi >= 2:
        rights |= REFER
    if abi >= 3:
        rights |= TRUNCATE
    if abi >= 5:
        rights |= IOCTL_DEV
    return rights


def _plan(abi: int) -> Confinement:
    scopes = ("abstract-unix-socket", "signal") if abi >= 6 else ()
    return Confinement(abi, _fs_rights(abi), net_tcp=abi >= 4, scopes=scopes)


def _add(libc: ctypes.CDLL, ruleset: int, path: str, access: int) -> None:
    fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
    try:
        if not stat.S_ISDIR(os.fstat(fd).st_mode):
            access &= _FILE_ONLY
        rule = _PathBeneathAttr(access, fd)
        _check(_syscall(libc, _ADD_RULE, ruleset, _RULE_PATH_BENEATH, ctypes.byref(rule), 0), path)
    finally:
        os.close(fd)


def confine(readable: Iterable[str], writable: Iterable[str]) -> Confinement:
    """Restrict this process (and all it could start) to these paths, and deny TCP.

    ``no_new_privs`` must already be set (or the caller hold CAP_SYS_ADMIN).
    Raises OSError when Landlock is unavailable or refuses; the caller must
    then not run anything it meant to confine.
    """
    abi = abi_version()
    if abi < 1:
        raise OSError("Landlock is not available in this kernel (or is disabled)")
    plan, libc = _plan(abi), _libc()
    attr = _RulesetAttr(
        plan.fs_rights,
        _NET_BIND_TCP | _NET_CONNECT_TCP if plan.net_tcp else 0,
        _SCOPE_ABSTRACT_UNIX | _SCOPE_SIGNAL if plan.scopes else 0,
    )
    # An older kernel reads a shorter struct; the trailing fields are zero then.
    size = 8 if abi < 4 else 16 if abi < 6 else ctypes.sizeof(attr)
    ruleset = _check(_syscall(libc, _CREATE_RULESET, ctypes.byref(attr), size, 0), "ruleset")
    try:
        for path in readable:
            _add(libc, ruleset, path, READ & plan.fs_rights)
        for path in writable:
            _add(libc, ruleset, path, SCRATCH & plan.fs_rights)
        _check(_syscall(libc, _RESTRICT_SELF, ruleset, 0), "landlock_restrict_self")
    finally:
        os.close(ruleset)
    return plan
