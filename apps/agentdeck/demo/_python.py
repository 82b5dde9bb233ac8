"""``run_python``: runs agent-written code. Only ever inside the executor's sandbox.

Module-level on purpose: a sandboxed tool's function is imported by name in
the sandbox process, so it may not close over anything.
"""

from __future__ import annotations

import contextlib
import io
import sys
import traceback

from pydantic import BaseModel, ConfigDict, Field

from agentdeck.demo._models import FreeText
from agentdeck.errors import ErrorCategory, TerminalError
from agentdeck.tools import ToolContext

__all__ = ["PythonCode", "PythonResult", "run_python"]

_MAX_CHARS = 16_000


class PythonCode(BaseModel):
    """Code to run; its prints are the result."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    code: str = Field(min_length=1, max_length=20_000)


class PythonResult(BaseModel):
    """What the code printed, and how it ended."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    stdout: FreeText
    stderr: FreeText
    exit_code: int
    truncated: bool = False


def _sandboxed() -> bool:
    return bool(sys.flags.isolated and sys.flags.no_site)


def _clip(text: str) -> tuple[str, bool]:
    return (text[:_MAX_CHARS], True) if len(text) > _MAX_CHARS else (text, False)


def run_python(args: PythonCode, _ctx: ToolContext) -> PythonResult:
    """Run Python code in a sandbox (no network, CPU/memory/time limits) and return its output."""
    if not _sandboxed():
        raise TerminalError(
            "run_python runs only inside the executor's sandbox",
            capability="tool.run_python",
            code="sandbox_required",
            category=ErrorCategory.POLICY,
            remediation=("declare the tool sandboxed and run it through the tool-executor",),
        )
    out, err, code = io.StringIO(), io.StringIO(), 0
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            exec(compile(args.code, "<agent code>", "exec"), {"__name__": "__main__"})  # noqa: S102
        except SystemExit as stop:
            code = stop.code if isinstance(stop.code, int) else 1
        except MemoryError:
            raise
        except Exception as exc:  # noqa: BLE001 - the agent's error is the agent's result
            tb = exc.__traceback__
            traceback.print_exception(type(exc), exc, tb.tb_next if tb else None)
            code = 1
    stdout, cut_out = _clip(out.getvalue())
    stderr, cut_err = _clip(err.getvalue())
    return PythonResult(stdout=stdout, stderr=stderr, exit_code=code, truncated=cut_out or cut_err)
