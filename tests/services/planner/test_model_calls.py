"""The model's answers: endpoint failures as the planner sees them, the ledger, the cache."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from agentdeck.claimcheck import ClaimCheck
from agentdeck.errors import RetryableError, TerminalError
from agentdeck.hotstate import InProcessHotState
from agentdeck.planner.adapters.model import ModelUnavailable, OpenAiCompatible
from agentdeck.planner.adapters.model_calls import ModelCalls
from agentdeck.store import Store

ANSWER = {"model": "small", "choices": [{"message": {"role": "assistant", "content": "ok"}}]}


class Endpoint:
    """A chat-completions endpoint on loopback that answers each request with the next status."""

    def __init__(self, statuses: list[int], *, delay_s: float = 0.0) -> None:
        self.statuses = statuses
        self.requests = 0
        owner = self

        class _Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", "0")))
                owner.requests += 1
                time.sleep(delay_s)
                status = owner.statuses.pop(0) if owner.statuses else 200
                body = json.dumps(ANSWER if status == 200 else {"error": "no"}).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002, ARG002
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}/v1"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def endpoint() -> Iterator[Endpoint]:
    made: list[Endpoint] = []

    def make(statuses: list[int], **kwargs: Any) -> Endpoint:
        made.append(Endpoint(statuses, **kwargs))
        return made[-1]

    yield make  # type: ignore[misc]
    for e in made:
        e.close()


@pytest.mark.parametrize(
    ("status", "kind", "code"),
    [
        (500, ModelUnavailable, "model_unavailable"),
        (503, ModelUnavailable, "model_unavailable"),
        (429, ModelUnavailable, "model_rate_limited"),
        (400, TerminalError, "model_refused"),
        (404, TerminalError, "model_refused"),
    ],
)
def test_an_endpoint_failure_is_retryable_or_terminal_by_its_status(endpoint, status, kind, code):
    port = OpenAiCompatible(endpoint([status]).url, timeout_s=5)
    with pytest.raises(kind) as raised:
        port.complete({"model": "small", "messages": []})
    assert raised.value.code == code
    assert isinstance(raised.value, RetryableError) is (kind is ModelUnavailable)
    port.close()


def test_a_slow_or_absent_endpoint_is_retryable(endpoint):
    slow = OpenAiCompatible(endpoint([200], delay_s=1.0).url, timeout_s=0.2)
    with pytest.raises(ModelUnavailable) as raised:
        slow.complete({"model": "small", "messages": []})
    assert raised.value.code == "model_timeout"
    gone = endpoint([])
    url = gone.url
    gone.close()
    with pytest.raises(ModelUnavailable, match="model endpoint"):
        OpenAiCompatible(url, timeout_s=1).complete({"model": "small", "messages": []})


def test_an_identical_request_is_asked_once_and_a_turn_is_answered_from_the_ledger(
    endpoint, engine
):
    asked = endpoint([])
    store = Store(engine)
    calls = ModelCalls(
        store,
        InProcessHotState(),
        OpenAiCompatible(asked.url, timeout_s=5),
        cache_ttl_s=60,
        claims=ClaimCheck(store.payloads, above_bytes=1_000_000),
    )
    request = {"model": "small", "messages": [{"role": "user", "content": uuid.uuid4().hex}]}
    first_run, second_run = f"run-{uuid.uuid4().hex}", f"run-{uuid.uuid4().hex}"
    first = calls.answer(first_run, 1, request, tenant="acme")
    second = calls.answer(second_run, 1, request, tenant="acme")  # another run, same request
    again = calls.answer(first_run, 1, request, tenant="acme")  # the batch redelivered
    assert asked.requests == 1, "the cache answered the second run, the ledger the redelivery"
    assert (first.cached, second.cached) == (False, True)
    assert first.response == second.response == again.response == ANSWER
    # Read back from the ledger (its event was never published: a crash), an answer is
    # billed and recorded as it was first obtained, not as a cache hit.
    assert (again.cached, again.latency_ms) == (first.cached, first.latency_ms)
    assert calls.answer(second_run, 1, request, tenant="acme").cached is True
    other = dict(request, messages=[{"role": "user", "content": "something else"}])
    calls.answer(second_run, 2, other, tenant="acme")
    assert asked.requests == 2, "a different request is asked"
