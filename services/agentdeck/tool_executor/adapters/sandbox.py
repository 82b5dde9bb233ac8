"""Runs a sandboxed tool's function in a child process that locks itself down.

The child (``python -I -S``, empty environment, its own session) imports the
tool, then confines itself for good before the tool's code runs: no
capabilities, rlimits (CPU, memory, file size, open files, no new tasks),
Landlock (read the standard library, write its scratch directory, nothing
else; no TCP; no signals out) and a seccomp filter that kills it on any
attempt at a new process, program, socket, namespace or tracing. None of this
needs privilege, so it holds for a non-root executor with no capabilities.
Where it cannot be set up, sandboxed calls are refused (``sandbox_unavailable``);
there is no weaker fallback. After every call the child's process group is
killed, so nothing outlives it, and a call cancelled while it runs is killed
at once (nothing it did can have left the sandbox).
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import select
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from agentdeck.errors import ConfigError, TerminalError
from agentdeck.tool_executor.adapters._outcome import SandboxCrashed, collected
from agentdeck.tool_executor.adapters.isolation import Isolation, SandboxUnavailable
from agentdeck.tools import Tool, ToolContext

__all__ = [
    "SandboxCancelled",
    "SandboxCrashed",
    "SandboxLimits",
    "SandboxTimeout",
    "SubprocessSandbox",
    "importable",
    "isolation_report",
]

_CHILD = Path(__file__).with_name("_sandbox_child.py")
_PROBE_TIMEOUT_S = 30.0
_CANCEL_POLL_S = 0.05
"""How often a running child's call is checked for a cancel: the most a cancel waits."""


@dataclass(frozen=True)
class SandboxLimits:
    """Resource limits of one sandboxed call."""

    cpu_s: int = 5
    memory_mb: int = 256
    max_output_bytes: int = 64_000


class SandboxTimeout(Exception):
    """The child did not finish within the wall-clock timeout and was killed."""


class SandboxCancelled(Exception):
    """The call was cancelled while the child ran; the child was killed."""


def importable(tool: Tool) -> tuple[str, str]:
    """(module, name) a sandboxed tool's function is imported by; ConfigError if none."""
    function = tool.function
    module, name = getattr(function, "__module__", None), getattr(function, "__qualname__", "")
    if not module or "." in name or "<" in name:
        raise ConfigError(
            f"sandboxed tool {tool.contract.name}: its function must be a module-level"
            " function (it is imported by name in the sandbox)"
        )
    return module, name


def _exited_within(pid: int, timeout_s: float, cancelled: threading.Event | None) -> bool:
    """Whether the child exited within ``timeout_s``.

    Waits without reaping: until reaped, the child's process group id cannot be
    reused, so killing that group afterwards hits only ours.

    Raises:
        SandboxCancelled: ``cancelled`` was set first.
    """
    pidfd = os.pidfd_open(pid)
    try:
        deadline = time.monotonic() + timeout_s
        while (left := deadline - time.monotonic()) > 0:
            slice_s = left if cancelled is None else min(left, _CANCEL_POLL_S)
            if select.select([pidfd], [], [], slice_s)[0]:
                return True
            if cancelled is not None and cancelled.is_set():
                raise SandboxCancelled("cancelled while running")
        return False
    finally:
        os.close(pidfd)


class SubprocessSandbox:
    """Runs sandboxed tools, one locked-down child process per call.

    Args:
        limits: What one call may use.
        isolation: What isolation is in force; None probes it (once, on first use).
    """

    def __init__(self, limits: SandboxLimits, *, isolation: Isolation | None = None) -> None:
        self.limits = limits
        if isolation is not None:
            self.__dict__["isolation"] = isolation

    @cached_property
    def isolation(self) -> Isolation:
        """The isolation a locked-down probe child reports (probed once)."""
        try:
            return Isolation.probed(self._execute({"probe": True}, _PROBE_TIMEOUT_S))
        except SandboxUnavailable as exc:
            return Isolation(available=False, reason=exc.reason)
        except (TerminalError, SandboxCrashed, SandboxTimeout, OSError) as exc:
            return Isolation(available=False, reason=f"{type(exc).__name__}: {exc}")

    def _request(self, tool: Tool, args: BaseModel, ctx: ToolContext) -> dict[str, Any]:
        module, name = importable(tool)
        return {
            "module": module,
            "name": name,
            "args": args.model_dump_json(),
            # No credential crosses: with no network it is useless inside, and
            # the code could only hand it out through its output.
            "ctx": {
                **{k: v for k, v in ctx.__dict__.items() if k != "cancelled"},
                "deadline": ctx.deadline.isoformat(),
                "credential": None,
            },
        }

    def run(self, tool: Tool, args: BaseModel, ctx: ToolContext, *, timeout_s: float) -> str:
        """Run ``tool`` on ``args`` in a locked-down child; its output as JSON.

        Raises:
            SandboxTimeout: The wall-clock timeout passed; the child was killed.
            SandboxCancelled: ``ctx.cancelled`` was set first; the child was killed.
            SandboxCrashed: The child died without a result.
            TerminalError: ``sandbox_unavailable`` (no isolation here: nothing ran),
                ``sandbox_violation`` (the code tried a forbidden operation and was
                killed), a limit (CPU, memory, output size), or the tool's own.
            Failure: The tool raised one.
        """
        if not self.isolation.available:
            raise SandboxUnavailable(self.isolation.reason)
        return self._execute(self._request(tool, args, ctx), timeout_s, ctx.cancelled)

    def _execute(
        self, request: dict[str, Any], timeout_s: float, cancelled: threading.Event | None = None
    ) -> str:
        out = self.limits.max_output_bytes
        with tempfile.TemporaryDirectory(
            prefix="agentdeck-sandbox-", ignore_cleanup_errors=True
        ) as work:
            scratch = Path(work) / "scratch"
            scratch.mkdir(mode=0o700)
            result = Path(work) / f".result-{secrets.token_hex(8)}"
            request = {
                **request,
                "path": [p for p in sys.path if p],
                "scratch": str(scratch),
                "result_path": str(result),
                "limits": {
                    "cpu_s": self.limits.cpu_s,
                    "memory_bytes": self.limits.memory_mb << 20,
                    "file_bytes": max(out * 4, 1 << 20),
                },
            }
            status = self._spawn(json.dumps(request).encode(), scratch, timeout_s, cancelled)
            return collected(result, status, cpu_s=self.limits.cpu_s, max_output_bytes=out)

    def _spawn(
        self, request: bytes, scratch: Path, timeout_s: float, cancelled: threading.Event | None
    ) -> int:
        with subprocess.Popen(
            [sys.executable, "-I", "-S", str(_CHILD)],
            cwd=scratch,
            env={},
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        ) as child:
            try:
                assert child.stdin is not None  # noqa: S101 - stdin=PIPE above
                child.stdin.write(request)
                child.stdin.close()
            except BrokenPipeError:
                pass  # it died already; its exit status tells why
            try:
                exited = _exited_within(child.pid, timeout_s, cancelled)
            finally:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(child.pid, signal.SIGKILL)
                child.wait()
            if not exited:
                raise SandboxTimeout(f"no result within {timeout_s:.1f}s")
            return child.returncode


def isolation_report(limits: SandboxLimits | None = None) -> str:
    """One line saying what isolation sandboxed tools get on this machine (probes it)."""
    return SubprocessSandbox(limits or SandboxLimits()).isolation.describe()
