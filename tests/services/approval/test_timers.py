"""Deadlines across a restart: the sweeper reads pending approvals back from SQL."""

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from agentdeck.approval import client
from agentdeck.approval.adapters.requests import ApprovalsRepository
from agentdeck.approval.adapters.tables import ApprovalStatus
from agentdeck.approval.client import ApprovalApiError
from agentdeck.contracts import models as m
from agentdeck.store import Store

BOB = "tok-bob"

REQUESTS = ApprovalsRepository()


@contextmanager
def webhook_receiver() -> Iterator[tuple[str, list[dict]]]:
    """A stand-in for a chat system: records every JSON body POSTed to it."""
    received: list[dict] = []

    class Receive(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers["Content-Length"])
            received.append(json.loads(self.rfile.read(length)))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *_args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Receive)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/hook", received
    finally:
        server.shutdown()
        server.server_close()


def _about(bodies: list[dict], approval_ids: list[str]) -> list[dict]:
    # The session shares one database: the sweeper also notifies about other tests' approvals.
    return [b for b in bodies if b["approval_id"] in approval_ids]


def _row(store: Store, approval_id: str):
    with store.transaction(read_only=True) as conn:
        return REQUESTS.get(conn, approval_id)


def _wait_for(condition, timeout_s: float = 15.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


@pytest.mark.integration
@pytest.mark.parametrize("engine", ["postgresql"], indirect=True)
def test_a_restarted_service_still_escalates_and_expires_pending_approvals(
    engine, make_decision, harness, clock
):
    store = Store(engine)
    decision = make_decision()
    mine = [decision.approval_id]
    with webhook_receiver() as (hook_url, received):
        first = harness.start(store, clock=clock, webhook_url=hook_url)
        harness.publish([decision])
        [requested] = harness.approvals(1, of=mine)
        _wait_for(lambda: _row(store, decision.approval_id) is not None)
        first.runner.stop()

        clock.advance(timedelta(minutes=31))
        second = harness.start(store, clock=clock, webhook_url=hook_url)
        escalated = harness.approvals(2, of=mine)[1]
        assert isinstance(escalated, m.ApprovalEscalated)
        assert (escalated.level, escalated.escalated_to) == (1, "finance")
        assert escalated.new_deadline == requested.deadline
        [listed] = [
            a
            for a in client.list_pending(second.base_url, BOB)
            if a.approval_id == requested.approval_id
        ]
        assert (listed.status, listed.escalated_to) == ("escalated", "finance")
        _wait_for(lambda: len(_about(received, mine)) == 2)

        clock.advance(timedelta(minutes=30))
        expired = harness.approvals(3, of=mine)[2]

    assert isinstance(expired, m.ApprovalExpired)
    assert (expired.outcome, expired.payload_hash) == ("deny", decision.arguments_hash)
    assert harness.verifies(expired)
    row = _row(store, decision.approval_id)
    assert (row.status, row.decided_by) == (ApprovalStatus.EXPIRED, "deadline")
    with pytest.raises(ApprovalApiError) as late:
        client.approve(second.base_url, BOB, decision.approval_id)
    assert late.value.error == "already_decided"
    assert [body["type"] for body in _about(received, mine)] == [
        "ApprovalRequested",
        "ApprovalEscalated",
    ]
