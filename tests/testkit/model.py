"""A scripted OpenAI-compatible endpoint that fails on cue: statuses, delays, Retry-After.

The one kind of fake the tests allow: a system outside ours. Each request
takes the next reply of the script (after the script: ``then``); a 200 answers
in plain text and names the model it was asked for, so a test sees which
model answered. ``hang()`` makes every reply wait until the endpoint closes.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["Reply", "ScriptedEndpoint"]


@dataclass(frozen=True)
class Reply:
    """One reply: its status, how long before it, and its headers."""

    status: int = 200
    delay_s: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Asked:
    """One request as the endpoint saw it."""

    at: float
    model: str


class ScriptedEndpoint:
    """``POST /v1/chat/completions`` on loopback, replying as scripted."""

    def __init__(self, script: list[Reply] | None = None, *, then: Reply | None = None) -> None:
        self.script = list(script or [])
        self.then = then or Reply()
        self.asked: list[Asked] = []
        self._closed = threading.Event()
        self._lock = threading.Lock()
        owner = self

        class _Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                reply = owner._next(str(request.get("model", "")))
                if owner._closed.wait(reply.delay_s):
                    return  # closing: a hanging reply never comes
                body = json.dumps(_body(reply.status, request)).encode()
                self.send_response(reply.status)
                for name, value in {"Content-Type": "application/json", **reply.headers}.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002, ARG002
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def _next(self, model: str) -> Reply:
        with self._lock:
            self.asked.append(Asked(time.monotonic(), model))
            return self.script.pop(0) if self.script else self.then

    def hang(self) -> None:
        """From now on, no request is answered (until the endpoint closes)."""
        with self._lock:
            self.script, self.then = [], Reply(delay_s=3600.0)

    @property
    def base_url(self) -> str:
        """The endpoint's base URL, as ``AGENTDECK_PLANNER_LLM_BASE_URL`` takes it."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/v1"

    def close(self) -> None:
        """Stop serving; replies still waiting are dropped."""
        self._closed.set()
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> ScriptedEndpoint:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


def _body(status: int, request: dict[str, Any]) -> dict[str, Any]:
    if status != 200:
        return {"error": {"message": f"scripted {status}"}}
    message = {"role": "assistant", "content": "Done without tools."}
    return {
        "model": request.get("model", ""),
        "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 10, "completion_tokens": 3},
    }
