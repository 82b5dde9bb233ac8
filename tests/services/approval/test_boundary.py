"""The API's front door at the ASGI level: what it reads, and when it stops reading."""

from __future__ import annotations

import json

import anyio
import pytest

from agentdeck.approval.adapters.auth import AuthUnavailable, StaticTokens, token_hash
from agentdeck.approval.adapters.boundary import PRINCIPAL, Boundary
from agentdeck.approval.core import Principal

from .conftest import principal

ALICE = principal("alice", "support-lead")
LIMIT = 1024


class Channel:
    """A client that offers ``chunks`` of a body and records what the app read and answered."""

    def __init__(self, chunks: list[bytes]) -> None:
        self._chunks = list(chunks)
        self.reads = 0
        self.sent: list[dict] = []

    async def receive(self) -> dict:
        self.reads += 1
        chunk = self._chunks.pop(0)
        return {"type": "http.request", "body": chunk, "more_body": bool(self._chunks)}

    async def send(self, message: dict) -> None:
        self.sent.append(message)

    @property
    def status(self) -> int:
        return self.sent[0]["status"]

    @property
    def headers(self) -> dict[bytes, bytes]:
        return dict(self.sent[0]["headers"])

    @property
    def body(self) -> dict:
        return json.loads(self.sent[1]["body"])


class Echo:
    """The app behind the door: records the principal and the body it was given."""

    def __init__(self) -> None:
        self.principal: Principal | None = None
        self.body = b""
        self.calls = 0

    async def __call__(self, scope, receive, send) -> None:
        self.calls += 1
        self.principal = scope.get("state", {}).get(PRINCIPAL)
        message = await receive()
        self.body = message["body"]
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})


def _scope(path: str = "/approvals/a1/approve", token: str = "", length: int | None = None):
    headers = [(b"content-type", b"application/json")]
    if token:
        headers.append((b"authorization", f"Bearer {token}".encode()))
    if length is not None:
        headers.append((b"content-length", str(length).encode()))
    return {"type": "http", "method": "POST", "path": path, "headers": headers}


def _call(scope: dict, chunks: list[bytes]) -> tuple[Echo, Channel]:
    app, channel = Echo(), Channel(chunks)
    door = Boundary(
        app, StaticTokens({token_hash("tok-alice"): ALICE}), max_body_bytes=LIMIT, public=["/h"]
    )
    anyio.run(door, scope, channel.receive, channel.send)
    return app, channel


@pytest.mark.parametrize("token", ["", "tok-nobody"])
def test_an_unauthenticated_request_is_refused_before_one_byte_of_its_body_is_read(token):
    app, channel = _call(_scope(token=token, length=10**9), [b"x" * 65536] * 3)
    assert channel.reads == 0
    assert app.calls == 0
    assert channel.status == 401
    assert channel.headers[b"www-authenticate"] == b"Bearer"
    assert channel.body["error"] == "unauthenticated"


def test_an_authenticated_request_reaches_the_app_with_its_principal_and_body():
    app, channel = _call(_scope(token="tok-alice", length=2), [b"{}"])
    assert (channel.status, app.principal, app.body) == (200, ALICE, b"{}")


@pytest.mark.parametrize("token", ["", "tok-alice"])
def test_every_answer_is_neither_cached_nor_sniffed_nor_framed(token):
    _app, channel = _call(_scope(token=token, length=2), [b"{}"])
    assert channel.headers[b"cache-control"] == b"no-store"
    assert channel.headers[b"x-content-type-options"] == b"nosniff"
    assert channel.headers[b"x-frame-options"] == b"DENY"


def test_a_declared_length_above_the_limit_is_refused_without_reading():
    app, channel = _call(_scope(token="tok-alice", length=LIMIT + 1), [b"x" * (LIMIT + 1)])
    assert (channel.status, channel.reads, app.calls) == (413, 0, 0)
    assert channel.body["error"] == "body_too_large"


def test_a_streamed_body_is_cut_off_at_the_limit_and_the_rest_never_read():
    chunks = [b"x" * 400] * 10  # no Content-Length: counted as it arrives
    app, channel = _call(_scope(token="tok-alice"), chunks)
    assert (channel.status, app.calls) == (413, 0)
    assert channel.reads == 3  # 1200 bytes > 1024: it stopped there


def test_a_public_path_needs_no_token_but_keeps_the_body_limit():
    app, channel = _call(_scope(path="/h", length=2), [b"{}"])
    assert (channel.status, app.principal) == (200, None)
    _app, channel = _call(_scope(path="/h", length=LIMIT * 2), [b""])
    assert channel.status == 413


def test_a_websocket_is_closed_without_reaching_the_app():
    app, channel = Echo(), Channel([])
    door = Boundary(app, StaticTokens({}), max_body_bytes=LIMIT)
    anyio.run(
        door,
        {"type": "websocket", "path": "/approvals", "headers": []},
        channel.receive,
        channel.send,
    )
    assert channel.sent == [{"type": "websocket.close", "code": 1008}]
    assert app.calls == 0


class Unreachable:
    """An identity provider that cannot be asked right now."""

    def identify(self, token: str) -> Principal | None:
        raise AuthUnavailable(f"cannot check {len(token)} characters now")


def test_when_tokens_cannot_be_checked_the_answer_is_503_and_the_body_stays_unread():
    app, channel = Echo(), Channel([b"{}"])
    door = Boundary(app, Unreachable(), max_body_bytes=LIMIT)
    anyio.run(door, _scope(token="a.b.c", length=2), channel.receive, channel.send)
    assert (channel.status, channel.body["error"], channel.reads, app.calls) == (
        503,
        "auth_unavailable",
        0,
        0,
    )
