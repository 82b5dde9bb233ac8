"""What isolation sandboxed tools get here, and the refusal when there is none."""

from __future__ import annotations

import json
from dataclasses import dataclass

from agentdeck.errors import ErrorCategory, TerminalError

__all__ = ["Isolation", "SandboxUnavailable", "sandbox_violation"]

CAPABILITY = "tool-executor.sandbox"

_REMEDIATION = (
    (
        "run the executor on Linux 5.13 or newer with Landlock enabled (lsm=...,landlock)"
        " and seccomp filters allowed (seccompProfile RuntimeDefault or Unconfined)"
    ),
    "on x86-64: the seccomp filter knows no other system-call table yet",
    "or do not register sandboxed tools (such as run_python) on this executor",
)


@dataclass(frozen=True)
class Isolation:
    """The isolation a sandboxed call runs under, as the sandbox's own probe found it.

    Attributes:
        available: Whether every layer is in force; if not, sandboxed tools refuse to run.
        reason: Why not, when not available.
        landlock_abi: The kernel's Landlock ABI version (0: none).
        landlock_tcp: Whether Landlock also denies TCP bind and connect (ABI 4+).
        landlock_scopes: What Landlock scopes (ABI 6+): abstract unix sockets, signals.
        seccomp: The seccomp filter's action on a forbidden call ("" if none).
        uid: The user id sandboxed code runs as.
    """

    available: bool
    reason: str = ""
    landlock_abi: int = 0
    landlock_tcp: bool = False
    landlock_scopes: tuple[str, ...] = ()
    seccomp: str = ""
    uid: int | None = None

    @classmethod
    def probed(cls, report_json: str) -> Isolation:
        """From the report a locked-down probe child wrote."""
        report = json.loads(report_json)
        return cls(
            available=True,
            landlock_abi=int(report["landlock_abi"]),
            landlock_tcp=bool(report["landlock_tcp"]),
            landlock_scopes=tuple(report["landlock_scopes"]),
            seccomp=str(report["seccomp"]),
            uid=int(report["uid"]),
        )

    def describe(self) -> str:
        """One line for a log or a terminal."""
        if not self.available:
            return f"sandbox UNAVAILABLE, sandboxed tools refuse to run: {self.reason}"
        net = "no sockets (seccomp)" + (", no TCP (Landlock)" if self.landlock_tcp else "")
        scopes = f", scoped: {'+'.join(self.landlock_scopes)}" if self.landlock_scopes else ""
        return (
            f"sandbox: Landlock ABI {self.landlock_abi} (read: standard library; "
            f"write: scratch only{scopes}) + seccomp-bpf ({self.seccomp}; no processes, "
            f"namespaces, tracing) + {net} + rlimits, empty environment, no capabilities, "
            f"uid {self.uid}"
        )


class SandboxUnavailable(TerminalError):
    """The refusal of a sandboxed call where the sandbox cannot hold (nothing ran).

    Args:
        reason: What is missing, as the probe or the call's own lockdown found it.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(
            f"sandboxed tools cannot run here: {reason}",
            capability=CAPABILITY,
            code="sandbox_unavailable",
            category=ErrorCategory.POLICY,
            remediation=_REMEDIATION,
        )
        self.reason = reason


def sandbox_violation() -> TerminalError:
    """The failure of a call whose code made a system call the sandbox forbids."""
    return TerminalError(
        "the sandboxed code was killed: it tried a forbidden operation (a new process,"
        " a socket, a namespace, tracing or another raw kernel interface)",
        capability=CAPABILITY,
        code="sandbox_violation",
        category=ErrorCategory.POLICY,
        remediation=("compute in-process with the standard library; no I/O but scratch files",),
    )
