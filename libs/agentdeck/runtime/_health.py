"""``GET /livez`` and ``GET /readyz`` for orchestrators' probes."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["HealthServer"]


class HealthServer:
    """Serves liveness and readiness on a port until stopped.

    Args:
        port: Where to listen (all interfaces, as a pod's probes need).
        live: Whether every loop and task thread runs.
        ready: Named checks: loops joined their groups, the store answers, ...
    """

    def __init__(
        self,
        port: int,
        *,
        live: Callable[[], bool],
        ready: Mapping[str, Callable[[], bool]],
        host: str = "0.0.0.0",  # noqa: S104 -- probes come from outside the pod
    ) -> None:
        owner = self

        class _Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                status, body = owner.answer(self.path)
                payload = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002, ARG002
                return

        self._live = live
        self._ready = ready
        self._server = ThreadingHTTPServer((host, port), _Handler)

    @property
    def port(self) -> int:
        """The port actually bound."""
        return int(self._server.server_address[1])

    def answer(self, path: str) -> tuple[int, dict[str, object]]:
        """Status code and body for ``path``."""
        if path == "/livez":
            ok = self._live()
            return (200 if ok else 503), {"live": ok}
        if path == "/readyz":
            checks = {name: _safe(check) for name, check in self._ready.items()}
            ok = all(checks.values())
            return (200 if ok else 503), {"ready": ok, "checks": checks}
        return 404, {"error": "not_found", "options": ["/livez", "/readyz"]}

    def serve(self, stop: threading.Event) -> None:
        """Serve until ``stop`` is set (a runner task)."""
        thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        thread.start()
        stop.wait()
        self._server.shutdown()
        self._server.server_close()


def _safe(check: Callable[[], bool]) -> bool:
    try:
        return bool(check())
    except Exception:  # noqa: BLE001 -- a failing check means "not ready", not a crash
        return False
