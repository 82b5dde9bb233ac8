"""What a sandbox child's end means: its result file and exit status, as our errors."""

from __future__ import annotations

import json
import signal
from pathlib import Path
from typing import Any

from agentdeck.errors import ErrorCategory, RetryableError, TerminalError
from agentdeck.tool_executor.adapters.isolation import (
    CAPABILITY,
    SandboxUnavailable,
    sandbox_violation,
)

__all__ = ["SandboxCrashed", "collected"]

_CPU_SIGNALS = {-signal.SIGXCPU, -signal.SIGKILL}


class SandboxCrashed(Exception):
    """The child died without reporting a result (killed by a limit, or worse)."""


def _limit_failure(code: str, message: str) -> TerminalError:
    return TerminalError(
        message,
        capability=CAPABILITY,
        code=code,
        category=ErrorCategory.PERMANENT,
        remediation=("make the code do less work", "split the task into smaller steps"),
    )


def _reported(error: dict[str, Any]) -> Exception:
    kind, code, message = error["kind"], error["code"], error["message"]
    if kind == "limit":
        return _limit_failure(code, message)
    if kind == "unavailable":
        return SandboxUnavailable(message)
    if kind == "crash":
        return SandboxCrashed(message)
    cls = RetryableError if kind == "retryable" else TerminalError
    return cls(
        message,
        capability=error.get("capability", "tool"),
        code=code,
        category=ErrorCategory(error.get("category", "PERMANENT")),
        remediation=tuple(error.get("remediation", ())),
    )


def collected(result: Path, status: int, *, cpu_s: int, max_output_bytes: int) -> str:
    """The output JSON the child wrote to ``result`` before exiting with ``status``.

    Raises:
        TerminalError: ``sandbox_violation`` (killed by the seccomp filter), a
            limit (CPU, memory, output size), ``sandbox_unavailable`` (the child
            could not lock itself down and ran nothing), or the tool's own.
        RetryableError: The tool's own.
        SandboxCrashed: It died without a result.
    """
    if status == -signal.SIGSYS:
        raise sandbox_violation()
    if status in _CPU_SIGNALS:
        raise _limit_failure("cpu_limit_exceeded", f"CPU time limit of {cpu_s}s")
    if not result.exists() or not result.stat().st_size:
        raise SandboxCrashed(f"the sandbox exited with {status} and no result")
    if result.stat().st_size > max_output_bytes * 2 + 1024:
        raise _limit_failure("output_too_large", "the sandboxed tool's output is too large")
    payload = json.loads(result.read_text(encoding="utf-8"))
    if "ok" in payload:
        return str(payload["ok"])
    raise _reported(payload["error"])
