"""Serving the API with uvicorn as a background task of the service runner."""

from __future__ import annotations

import logging
import threading

import uvicorn
from starlette.types import ASGIApp

__all__ = ["HttpServer"]

log = logging.getLogger(__name__)


class HttpServer:
    """Runs ``app`` on ``host:port`` until the runner's stop event is set."""

    def __init__(self, app: ASGIApp, host: str, port: int) -> None:
        self._config = uvicorn.Config(
            app,
            host=host,
            port=port,
            interface="asgi3",
            log_level="warning",
            access_log=False,
            lifespan="off",
            server_header=False,
        )
        self.host, self.port = host, port

    def serve(self, stop: threading.Event) -> None:
        """Serve until ``stop`` is set (signal handling stays with the main thread)."""
        server = uvicorn.Server(self._config)

        def stop_when_told() -> None:
            stop.wait()
            server.should_exit = True

        threading.Thread(target=stop_when_told, name="approval-http-stop", daemon=True).start()
        try:
            server.run()
        except SystemExit:  # uvicorn exits when it cannot bind; the service must say why
            log.exception("approval API could not serve on %s:%d", self.host, self.port)
