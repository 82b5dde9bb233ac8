"""The sandbox process: limits itself, then runs one tool function and writes its result.

Run as ``python -I -S _sandbox_child.py`` with a JSON request on stdin; only
the standard library is used until the request's import path is installed.
Writes ``{"ok": <output JSON>}`` or ``{"error": {...}}`` to the result file.
"""

from __future__ import annotations

import importlib
import inspect
import json
import resource
import sys
import typing
from datetime import datetime
from typing import Any

_BLOCKED = frozenset(
    {
        "socket.__new__",
        "socket.connect",
        "socket.bind",
        "socket.getaddrinfo",
        "socket.sendto",
        "subprocess.Popen",
        "os.system",
        "os.exec",
        "os.posix_spawn",
        "os.spawn",
        "os.fork",
        "os.forkpty",
        "pty.spawn",
        "ctypes.dlopen",
    }
)
_BLOCKED_IMPORTS = frozenset({"_ctypes", "ctypes", "_socket", "socket", "ssl", "_ssl"})
_RESULT: dict[str, str] = {}


def _guard(event: str, args: tuple[Any, ...]) -> None:
    if event in _BLOCKED or (event == "import" and args and args[0] in _BLOCKED_IMPORTS):
        raise PermissionError(f"sandbox: {event} is not allowed")


def _limit(limits: dict[str, int]) -> None:
    cpu = limits["cpu_s"]
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    resource.setrlimit(resource.RLIMIT_AS, (limits["memory_bytes"],) * 2)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limits["file_bytes"],) * 2)
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))


def _write(payload: dict[str, Any]) -> None:
    with open(_RESULT["path"], "w", encoding="utf-8") as out:  # noqa: PTH123 - stdlib only
        json.dump(payload, out)


def _error(kind: str, code: str, message: str, **extra: Any) -> dict[str, Any]:
    return {"error": {"kind": kind, "code": code, "message": message[:2000], **extra}}


def _failure(exc: BaseException) -> dict[str, Any]:
    code = getattr(exc, "code", None)
    if isinstance(code, str) and hasattr(exc, "capability"):
        kind = "retryable" if getattr(exc, "retryable", False) else "terminal"
        return _error(
            kind,
            code,
            str(getattr(exc, "message", exc)),
            capability=exc.capability,
            category=str(getattr(exc, "category", "PERMANENT")),
            remediation=list(getattr(exc, "remediation", ())),
        )
    return _error("crash", "tool_error", f"{type(exc).__name__}: {exc}")


def _call(request: dict[str, Any]) -> dict[str, Any]:
    module = importlib.import_module(request["module"])
    function = getattr(module, request["name"])
    first = next(iter(inspect.signature(function).parameters))
    model = typing.get_type_hints(function)[first]
    from agentdeck.tools import ToolContext  # noqa: PLC0415 - needs the injected path

    ctx_data = dict(request["ctx"])
    ctx_data["deadline"] = datetime.fromisoformat(ctx_data["deadline"])
    ctx = ToolContext(**ctx_data)
    args = model.model_validate_json(request["args"])
    if request["guard"]:
        sys.addaudithook(_guard)
    return {"ok": function(args, ctx).model_dump_json()}


def main() -> None:
    """Read the request, limit this process, run the tool, write the result."""
    request = json.loads(sys.stdin.read())
    _RESULT["path"] = request["result_path"]
    _limit(request["limits"])
    sys.path[:0] = request["path"]
    try:
        payload = _call(request)
    except MemoryError:
        payload = _error("limit", "memory_limit_exceeded", "the sandbox ran out of memory")
    except BaseException as exc:  # noqa: BLE001 - everything is reported to the parent
        payload = _failure(exc)
    _write(payload)


if __name__ == "__main__":
    main()
