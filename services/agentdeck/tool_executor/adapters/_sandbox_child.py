"""The sandbox process: prepares the tool, locks itself down, runs it, writes its result.

Run as ``python -I -S _sandbox_child.py`` with a JSON request on stdin; only
the standard library is used until the request's import path is installed.
Everything the tool needs from outside the standard library (its module, its
models, the call's arguments) is imported and built *before* the lockdown;
after it the process reads only the standard library and its scratch
directory (see ``_lockdown``). Writes ``{"ok": <output JSON>}`` or
``{"error": {...}}`` to the result file, opened before the lockdown. A probe
request (``"probe": true``) locks down and reports what is in force.
"""

from __future__ import annotations

import ctypes
import importlib
import inspect
import json
import os
import sys
import typing
from datetime import datetime
from typing import Any

# Standard-library modules whose C parts link libraries outside the standard
# library's directory: loaded now, they keep working after the lockdown.
_PRELOAD = ("binascii", "zlib", "hashlib", "bz2", "lzma")
_PR_GET_SECCOMP, _PR_GET_NO_NEW_PRIVS = 21, 39


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


def _prepared(request: dict[str, Any]) -> typing.Callable[[], Any]:
    module = importlib.import_module(request["module"])
    function = getattr(module, request["name"])
    first = next(iter(inspect.signature(function).parameters))
    model = typing.get_type_hints(function)[first]
    from agentdeck.tools import ToolContext  # noqa: PLC0415 - needs the injected path

    ctx_data = dict(request["ctx"])
    ctx_data["deadline"] = datetime.fromisoformat(ctx_data["deadline"])
    ctx = ToolContext(**ctx_data)
    args = model.model_validate_json(request["args"])
    return lambda: function(args, ctx).model_dump_json()


def _lock_down(request: dict[str, Any], stdlib: list[str]) -> dict[str, Any]:
    from agentdeck.tool_executor.adapters import _lockdown  # noqa: PLC0415 - injected path

    for name in _PRELOAD:
        importlib.import_module(name)
    return _lockdown.lock_down(
        scratch=request["scratch"],
        readable=_lockdown.interpreter_paths(stdlib),
        limits=request["limits"],
    )


def _probe(request: dict[str, Any], stdlib: list[str]) -> dict[str, Any]:
    report = _lock_down(request, stdlib)
    prctl = ctypes.CDLL(None).prctl
    if (prctl(_PR_GET_SECCOMP, 0, 0, 0, 0), prctl(_PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0)) != (2, 1):
        return _error("unavailable", "sandbox_unavailable", "no seccomp filter in force")
    try:  # the proof: this very file is outside the scratch directory
        with open(__file__, "rb"):  # noqa: PTH123 - stdlib only
            return _error("unavailable", "sandbox_unavailable", "Landlock did not hold")
    except PermissionError:
        return {"ok": json.dumps(report)}


def _outcome(request: dict[str, Any], stdlib: list[str]) -> dict[str, Any]:
    try:
        call = None if request.get("probe") else _prepared(request)
    except BaseException as exc:  # noqa: BLE001 - reported to the parent
        return _failure(exc)
    try:
        if call is None:
            return _probe(request, stdlib)
        _lock_down(request, stdlib)
    except Exception as exc:  # noqa: BLE001 - fail closed: no lockdown, no tool
        return _error("unavailable", "sandbox_unavailable", f"{type(exc).__name__}: {exc}")
    try:
        return {"ok": call()}
    except MemoryError:
        return _error("limit", "memory_limit_exceeded", "the sandbox ran out of memory")
    except BaseException as exc:  # noqa: BLE001 - everything is reported to the parent
        return _failure(exc)


def main() -> None:
    """Read the request, prepare the call, lock down, run it, write the result."""
    request = json.loads(sys.stdin.read())
    stdlib = list(sys.path)
    sys.path[:0] = request["path"]
    result = os.open(request["result_path"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    payload = json.dumps(_outcome(request, stdlib)).encode()
    if len(payload) > request["limits"]["file_bytes"]:
        payload = json.dumps(_error("limit", "output_too_large", "too much output")).encode()
    os.write(result, payload)
    os.close(result)


if __name__ == "__main__":
    main()
