"""A seccomp-bpf filter, assembled by hand: the sandbox child forbids itself escapes.

Imported by the sandbox child before it locks itself down, so standard library
only (libseccomp's bindings would need the C library present and run
``ldconfig`` at import). Installing a filter needs no privilege once
``no_new_privs`` is set, and a filter can never be removed, only stacked.

The filter is a deny-list of what an escape needs (new processes and threads,
programs, sockets, System V and POSIX message IPC, namespaces and mounts,
tracing, raw kernel interfaces, raising rlimits) over the system calls
CPython itself uses. A forbidden call kills the whole process
(SIGSYS), so the parent sees the attempt instead of code that caught an error.
Only x86-64 is known; elsewhere :func:`supported` is false and the sandbox
refuses to run.
"""

from __future__ import annotations

import ctypes
import errno
import platform

__all__ = [
    "ERRNO",
    "KILL",
    "Insn",
    "deny",
    "install",
    "no_new_privs",
    "program",
    "sandbox_program",
    "supported",
    "syscall_number",
]

Insn = tuple[int, int, int, int]

_LD_W_ABS, _JEQ, _JSET, _JGE, _RET = 0x20, 0x15, 0x45, 0x35, 0x06
_ARCH_X86_64, _X32_BIT = 0xC000003E, 0x40000000
_NR, _ARCH, _ARG = 0, 4, 16  # offsets in struct seccomp_data; args are 8 bytes each
KILL, ALLOW, ERRNO = 0x80000000, 0x7FFF0000, 0x00050000
_PR_SET_NO_NEW_PRIVS, _PR_SET_SECCOMP, _SECCOMP_MODE_FILTER = 38, 22, 2
_CLONE_THREAD = 0x00010000
_TRUNCATE = 76

_X86_64 = {
    "shmget": 29, "shmat": 30, "shmctl": 31, "socket": 41, "clone": 56, "fork": 57, "vfork": 58,
    "execve": 59, "kill": 62, "semget": 64, "semop": 65, "semctl": 66, "shmdt": 67,
    "msgget": 68, "msgsnd": 69, "msgrcv": 70, "msgctl": 71, "ptrace": 101, "syslog": 103,
    "rt_sigqueueinfo": 129, "uselib": 134, "personality": 135, "vhangup": 153,
    "pivot_root": 155, "adjtimex": 159, "setrlimit": 160, "chroot": 161, "acct": 163,
    "settimeofday": 164, "mount": 165, "umount2": 166, "swapon": 167, "swapoff": 168,
    "reboot": 169, "sethostname": 170, "setdomainname": 171, "iopl": 172, "ioperm": 173,
    "init_module": 175, "delete_module": 176, "quotactl": 179, "tkill": 200,
    "lookup_dcookie": 212, "semtimedop": 220, "clock_settime": 227, "tgkill": 234,
    "mq_open": 240, "mq_unlink": 241, "mq_timedsend": 242, "mq_timedreceive": 243,
    "mq_notify": 244, "mq_getsetattr": 245, "kexec_load": 246, "add_key": 248,
    "request_key": 249, "keyctl": 250, "migrate_pages": 256, "unshare": 272, "move_pages": 279,
    "rt_tgsigqueueinfo": 297, "perf_event_open": 298, "fanotify_init": 300, "prlimit64": 302,
    "name_to_handle_at": 303, "open_by_handle_at": 304, "clock_adjtime": 305, "setns": 308,
    "process_vm_readv": 310, "process_vm_writev": 311, "kcmp": 312, "finit_module": 313,
    "kexec_file_load": 320, "bpf": 321, "execveat": 322, "userfaultfd": 323,
    "pidfd_send_signal": 424, "io_uring_setup": 425, "io_uring_enter": 426,
    "io_uring_register": 427, "open_tree": 428, "move_mount": 429, "fsopen": 430,
    "fsconfig": 431, "fsmount": 432, "fspick": 433, "pidfd_open": 434, "clone3": 435,
    "pidfd_getfd": 438, "process_madvise": 440, "mount_setattr": 442, "quotactl_fd": 443,
    "statmount": 457, "listmount": 458, "open_tree_attr": 467,
}  # fmt: skip
_KILLED = tuple(
    name
    for name in _X86_64
    if name not in {"clone", "clone3", "kill", "tkill", "tgkill", "prlimit64"}
    and "sigqueueinfo" not in name
)


def supported() -> bool:
    """Whether this machine's system-call table is known to the filter."""
    return platform.machine() == "x86_64"


def syscall_number(name: str) -> int:
    """The x86-64 number of system call ``name``."""
    return _X86_64[name]


def _jump(code: int, k: int, jt: int, jf: int) -> Insn:
    return (code, jt, jf, k)


def _ret(action: int) -> Insn:
    return (_RET, 0, 0, action)


def _load(offset: int) -> Insn:
    return (_LD_W_ABS, 0, 0, offset)


def deny(number: int, action: int = KILL) -> list[Insn]:
    """``action`` for every call of system call ``number`` (kill, or ``ERRNO | errno``)."""
    return [_jump(_JEQ, number, 0, 1), _ret(action)]


def _no_new_tasks() -> list[Insn]:
    # clone() makes threads and processes alike: a process is killed; a thread
    # is refused (EAGAIN), as RLIMIT_NPROC refuses it where root is not exempt.
    return [
        _jump(_JEQ, _X86_64["clone"], 0, 4),
        _load(_ARG),  # the kernel reads only the low half of the flags
        _jump(_JSET, _CLONE_THREAD, 0, 1),
        _ret(ERRNO | errno.EAGAIN),
        _ret(KILL),
    ]


def _own_pid_only(name: str, pids: tuple[int, ...]) -> list[Insn]:
    # Signals may go to this process only; pid_t is the low half of the argument.
    checks = [_jump(_JEQ, pid & 0xFFFFFFFF, len(pids) - i, 0) for i, pid in enumerate(pids)]
    tail = [_ret(ERRNO | errno.EPERM), _ret(ALLOW)]
    return [_jump(_JEQ, _X86_64[name], 0, len(checks) + 3), _load(_ARG), *checks, *tail]


def _read_rlimits_only() -> list[Insn]:
    # prlimit64(pid, resource, new, old): a null ``new`` only reads.
    return [
        _jump(_JEQ, _X86_64["prlimit64"], 0, 6),
        _load(_ARG + 16),
        _jump(_JEQ, 0, 0, 3),
        _load(_ARG + 20),
        _jump(_JEQ, 0, 0, 1),
        _ret(ALLOW),
        _ret(KILL),
    ]


def program(*rules: list[Insn]) -> list[Insn]:
    """A whole filter: other architectures and x32 are killed, then ``rules``, then allow."""
    head = [_load(_ARCH), _jump(_JEQ, _ARCH_X86_64, 1, 0), _ret(KILL), _load(_NR)]
    head += [_jump(_JGE, _X32_BIT, 0, 1), _ret(KILL)]
    return [*head, *(insn for rule in rules for insn in rule), _ret(ALLOW)]


def sandbox_program(pid: int, landlock_abi: int) -> list[Insn]:
    """The sandbox's filter for process ``pid`` (signals may target it alone).

    Before Landlock ABI 3, truncate(2) by path escapes Landlock, so it is killed too.
    """
    signals = [
        *_own_pid_only("kill", (0, pid, -pid)),
        *_own_pid_only("tgkill", (pid,)),
        *_own_pid_only("rt_sigqueueinfo", (pid,)),
        *_own_pid_only("rt_tgsigqueueinfo", (pid,)),
    ]
    # glibc falls back from clone3 to clone on ENOSYS, where the flags can be read.
    clone3 = deny(_X86_64["clone3"], ERRNO | errno.ENOSYS)
    killed = [insn for name in _KILLED for insn in deny(_X86_64[name])]
    tkill = deny(_X86_64["tkill"], ERRNO | errno.EPERM)
    if landlock_abi < 3:
        killed += deny(_TRUNCATE)
    return program(_no_new_tasks(), clone3, _read_rlimits_only(), signals, tkill, killed)


class _Filter(ctypes.Structure):
    _fields_ = (
        ("code", ctypes.c_uint16),
        ("jt", ctypes.c_uint8),
        ("jf", ctypes.c_uint8),
        ("k", ctypes.c_uint32),
    )


class _Program(ctypes.Structure):
    _fields_ = (("len", ctypes.c_ushort), ("filter", ctypes.POINTER(_Filter)))


def _prctl(option: int, *args: int) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(option, *(ctypes.c_ulong(a) for a in (*args, 0, 0, 0, 0)[:4])) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"prctl({option}) refused")


def no_new_privs() -> None:
    """Forbid this process and its descendants ever gaining privileges (setuid, file caps)."""
    _prctl(_PR_SET_NO_NEW_PRIVS, 1)


def install(insns: list[Insn]) -> None:
    """Set ``no_new_privs`` and install ``insns`` on this (single-threaded) process."""
    table = (_Filter * len(insns))(*(_Filter(*insn) for insn in insns))
    prog = _Program(len(insns), table)
    no_new_privs()
    _prctl(_PR_SET_SECCOMP, _SECCOMP_MODE_FILTER, ctypes.addressof(prog))
