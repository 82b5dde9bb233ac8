"""The API's front door (ASGI middleware): who is calling, then how much they may send.

It runs before FastAPI, because FastAPI reads and parses a request's body
before it resolves dependencies: a token check written as a dependency lets
anybody make the service buffer and parse any body. Here, in order:

1. A path outside ``public`` needs ``Authorization: Bearer <token>`` naming
   a principal; otherwise 401 with ``WWW-Authenticate: Bearer`` is sent at
   once and not one byte of the body is read.
2. A declared ``Content-Length`` above ``max_body_bytes`` gets 413 at once.
3. The body is read up to ``max_body_bytes`` (a chunked body is counted as
   it streams) and handed to the app; one byte more is 413, and the rest is
   never read.

The principal goes to the app in ``scope["state"]["principal"]``. Every
answer, the app's and the door's, leaves with headers that keep browsers
from caching it, sniffing its type or framing it.
"""

from __future__ import annotations

from collections.abc import Collection

import anyio.to_thread
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from agentdeck.approval.adapters.auth import Authenticator, AuthUnavailable
from agentdeck.approval.adapters.errors import ApiError, send_error
from agentdeck.approval.core import Principal

__all__ = ["PRINCIPAL", "Boundary"]

PRINCIPAL = "principal"
"""Key of the authenticated principal in the request's state."""


# Fresh errors per refusal: a raised instance collects tracebacks, so none is shared.
def _unauthenticated() -> ApiError:
    return ApiError(
        401,
        "unauthenticated",
        "missing, unknown, expired or invalid bearer token",
        ("send Authorization: Bearer <your approver token>",),
    )


def _unavailable() -> ApiError:
    return ApiError(
        503, "auth_unavailable", "approver tokens cannot be checked right now", ("retry shortly",)
    )


_HARDENING = (
    (b"cache-control", b"no-store"),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
)


def _hardened(send: Send) -> Send:
    async def hardened(message: Message) -> None:
        if message["type"] == "http.response.start":
            message = {**message, "headers": [*message.get("headers", ()), *_HARDENING]}
        await send(message)

    return hardened


def _too_large(limit: int) -> ApiError:
    return ApiError(
        413, "body_too_large", f"request bodies are limited to {limit} bytes", ("send less",)
    )


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key.lower() == name:
            return str(value.decode("latin-1"))
    return None


def _bearer(scope: Scope) -> str:
    scheme, _, token = (_header(scope, b"authorization") or "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


class Boundary:
    """Authenticates, then bounds the body, then calls ``app``."""

    def __init__(
        self,
        app: ASGIApp,
        authenticator: Authenticator,
        *,
        max_body_bytes: int,
        public: Collection[str] = (),
    ) -> None:
        self._app = app
        self._auth = authenticator
        self._limit = max_body_bytes
        self._public = frozenset(public)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one connection event (HTTP requests are checked; the rest passes)."""
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})  # the API has none
            return
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        send = _hardened(send)
        if scope["path"] not in self._public:
            try:
                principal = await self._principal(scope)
            except ApiError as refusal:
                await send_error(refusal, send)
                return
            scope.setdefault("state", {})[PRINCIPAL] = principal
        try:
            body = await self._body(scope, receive)
        except ApiError as refusal:
            await send_error(refusal, send)
            return
        if body is None:
            return  # the client went away while sending
        await self._app(scope, _replay(body, receive), send)

    async def _principal(self, scope: Scope) -> Principal:
        token = _bearer(scope)
        if not token:
            raise _unauthenticated()
        try:
            # A JWKS fetch blocks; keep it off the event loop.
            principal = await anyio.to_thread.run_sync(self._auth.identify, token)
        except AuthUnavailable:
            raise _unavailable() from None
        if principal is None:
            raise _unauthenticated()
        return principal

    async def _body(self, scope: Scope, receive: Receive) -> bytes | None:
        declared = _header(scope, b"content-length")
        if declared is not None and not declared.isdigit():
            raise ApiError(400, "bad_request", "Content-Length is not a number", ("fix it",))
        if declared is not None and int(declared) > self._limit:
            raise _too_large(self._limit)
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self._limit:
                raise _too_large(self._limit)
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    """A receive that yields ``body`` once, then waits on the client (for disconnects)."""
    sent = False

    async def replayed() -> Message:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replayed
