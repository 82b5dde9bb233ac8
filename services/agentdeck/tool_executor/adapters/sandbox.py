"""Runs a sandboxed tool's function in a limited child process with no network.

The child is ``python -I -S`` (no environment, no site, no user paths) in a
fresh temporary directory, with CPU-time, address-space, file-size and
open-file rlimits and a wall-clock timeout. Network: when the executor may
(root or CAP_SYS_ADMIN) the child runs under ``unshare --net`` in an empty
network namespace; in every case an audit hook in the child refuses socket
creation, process spawning and ctypes before the tool's code runs.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel

from agentdeck.errors import ConfigError, ErrorCategory, RetryableError, TerminalError
from agentdeck.tools import Tool, ToolContext

__all__ = ["SandboxCrashed", "SandboxLimits", "SandboxTimeout", "SubprocessSandbox", "importable"]

_CHILD = Path(__file__).with_name("_sandbox_child.py")
_CPU_SIGNALS = {-signal.SIGXCPU, -signal.SIGKILL}


@dataclass(frozen=True)
class SandboxLimits:
    """Resource limits of one sandboxed call."""

    cpu_s: int = 5
    memory_mb: int = 256
    max_output_bytes: int = 64_000
    network: Literal["auto", "namespace", "audit-hook"] = "auto"


class SandboxTimeout(Exception):
    """The child did not finish within the wall-clock timeout and was killed."""


class SandboxCrashed(Exception):
    """The child died without reporting a result (killed by a limit, or worse)."""


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


def _limit_failure(code: str, message: str) -> TerminalError:
    return TerminalError(
        message,
        capability="tool-executor.sandbox",
        code=code,
        category=ErrorCategory.PERMANENT,
        remediation=("make the code do less work", "split the task into smaller steps"),
    )


def _reported(error: dict[str, Any]) -> Exception:
    kind, code, message = error["kind"], error["code"], error["message"]
    if kind == "limit":
        return _limit_failure(code, message)
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


class SubprocessSandbox:
    """Runs sandboxed tools, one child process per call."""

    def __init__(self, limits: SandboxLimits) -> None:
        self.limits = limits

    @cached_property
    def _unshare(self) -> str | None:
        if self.limits.network == "audit-hook":
            return None
        unshare = shutil.which("unshare")
        works = unshare is not None and _probe(unshare)
        if self.limits.network == "namespace" and not works:
            raise ConfigError("sandbox_network=namespace, but unshare --net is not permitted")
        return unshare if works else None

    @property
    def isolates_network(self) -> bool:
        """Whether children get an empty network namespace (else: the audit hook alone)."""
        return self._unshare is not None

    def _command(self) -> list[str]:
        prefix = [self._unshare, "--net", "--"] if self._unshare else []
        return [*prefix, sys.executable, "-I", "-S", str(_CHILD)]

    def _request(self, tool: Tool, args: BaseModel, ctx: ToolContext, result: Path) -> str:
        module, name = importable(tool)
        out = self.limits.max_output_bytes
        return json.dumps(
            {
                "path": [p for p in sys.path if p],
                "module": module,
                "name": name,
                "args": args.model_dump_json(),
                "ctx": {**ctx.__dict__, "deadline": ctx.deadline.isoformat()},
                "result_path": str(result),
                "guard": True,
                "limits": {
                    "cpu_s": self.limits.cpu_s,
                    "memory_bytes": self.limits.memory_mb << 20,
                    "file_bytes": max(out * 4, 1 << 20),
                },
            }
        )

    def run(self, tool: Tool, args: BaseModel, ctx: ToolContext, *, timeout_s: float) -> str:
        """Run ``tool`` on ``args`` in a child; its output as JSON.

        Raises:
            SandboxTimeout: The wall-clock timeout passed; the child was killed.
            SandboxCrashed: The child died without a result.
            Failure: The tool raised one, or a limit (CPU, memory, output size) was hit.
        """
        with tempfile.TemporaryDirectory(prefix="agentdeck-sandbox-") as work:
            result = Path(work) / f".result-{secrets.token_hex(8)}"
            code = self._spawn(self._request(tool, args, ctx, result), work, timeout_s)
            return self._collect(result, code)

    def _spawn(self, request: str, work: str, timeout_s: float) -> int:
        env = {"HOME": work, "TMPDIR": work, "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}
        with subprocess.Popen(
            self._command(),
            cwd=work,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        ) as child:
            try:
                child.communicate(request.encode(), timeout=timeout_s)
            except subprocess.TimeoutExpired:
                os.killpg(child.pid, signal.SIGKILL)
                child.wait()
                raise SandboxTimeout(f"no result within {timeout_s:.1f}s") from None
            return child.returncode

    def _collect(self, result: Path, code: int) -> str:
        if code in _CPU_SIGNALS:
            raise _limit_failure("cpu_limit_exceeded", f"CPU time limit of {self.limits.cpu_s}s")
        if not result.exists():
            raise SandboxCrashed(f"the sandbox exited with {code} and no result")
        if result.stat().st_size > self.limits.max_output_bytes * 2 + 1024:
            raise _limit_failure("output_too_large", "the sandboxed tool's output is too large")
        payload = json.loads(result.read_text(encoding="utf-8"))
        if "ok" in payload:
            return str(payload["ok"])
        raise _reported(payload["error"])


def _probe(unshare: str) -> bool:
    try:
        done = subprocess.run(
            [unshare, "--net", "--", sys.executable, "-I", "-S", "-c", "pass"],
            capture_output=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return False
    return done.returncode == 0
