"""The approval service end to end: real broker, real store, the real HTTP API over uvicorn."""

import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from agentdeck.approval import client
from agentdeck.approval.adapters.requests import ApprovalsRepository
from agentdeck.approval.adapters.tables import ApprovalStatus
from agentdeck.approval.client import ApprovalApiError
from agentdeck.contracts import models as m
from agentdeck.store import Store

ALICE, CAROL, BOB, DAVE, BOT = "tok-alice", "tok-carol", "tok-bob", "tok-dave", "tok-support-bot"

REQUESTS = ApprovalsRepository()


def _refused(call, *args) -> ApprovalApiError:
    with pytest.raises(ApprovalApiError) as caught:
        call(*args)
    return caught.value


def _of(events, kind, approval_id):
    return [e for e in events if isinstance(e, kind) and e.approval_id == approval_id]


def _race(url: str, approval_id: str) -> list[str]:
    with ThreadPoolExecutor(2) as pool:
        racing = [
            pool.submit(client.approve, url, ALICE, approval_id),
            pool.submit(client.deny, url, CAROL, approval_id),
        ]
    outcomes = []
    for future in racing:
        try:
            outcomes.append(future.result().status)
        except ApprovalApiError as exc:
            outcomes.append(str(exc.status))
    return sorted(outcomes)


def _pending_rows(store: Store, ids: list[str], timeout_s: float = 15.0) -> dict:
    deadline = time.monotonic() + timeout_s
    while True:
        with store.transaction(read_only=True) as conn:
            rows = {a.approval_id: a for a in REQUESTS.list_pending(conn, limit=1000)}
        if set(ids) <= set(rows) or time.monotonic() > deadline:
            return rows
        time.sleep(0.05)


@pytest.mark.integration
def test_decisions_become_requests_that_approvers_decide_over_http(engine, make_decision, harness):
    store = Store(engine)
    refund, email, raced, big = (
        make_decision(),
        make_decision(tool="send_email", arguments={"to": "x@example.org"}),
        make_decision(),
        make_decision(matched=("risk:high",)),
    )
    ids = [d.approval_id for d in (refund, email, raced, big)]
    url = harness.start(store).base_url
    allowed = make_decision(outcome=m.DecisionOutcome.ALLOW)
    harness.publish([refund, email, raced, big, allowed, refund])  # refund redelivered

    requested = harness.approvals(4, of=ids)
    assert sorted(e.approval_id for e in requested) == sorted(ids)
    assert all(isinstance(e, m.ApprovalRequested) for e in requested)
    rows = _pending_rows(store, ids)  # stored right after the requests are acknowledged
    assert {rows[i].status for i in ids} == {ApprovalStatus.PENDING}
    assert rows[refund.approval_id].payload_hash == refund.arguments_hash
    listed = {a.approval_id: a for a in client.list_pending(url, ALICE)}
    assert listed[refund.approval_id].summary.startswith("create_refund(")
    assert big.approval_id not in listed  # the high band is finance's, not a support lead's
    high = {a.approval_id: a for a in client.list_pending(url, BOB)}
    assert (high[big.approval_id].risk_band, high[big.approval_id].quorum) == ("high", 2)
    assert refund.approval_id not in high

    own = _refused(client.approve, url, BOT, refund.approval_id, "mine")
    assert (own.status, own.error) == (403, "requester_cannot_decide")
    not_his = _refused(client.approve, url, BOB, refund.approval_id)  # finance: not his role
    assert (not_his.status, not_his.error) == (404, "not_found")
    assert _refused(client.list_pending, url, "tok-nobody").status == 401

    granted = client.approve(url, ALICE, refund.approval_id, "refund is fine")
    assert granted.status == "granted"
    assert client.deny(url, CAROL, email.approval_id, "external recipient").status == "denied"
    again = _refused(client.deny, url, CAROL, refund.approval_id)
    assert (again.status, again.error) == (409, "already_decided")
    assert _race(url, raced.approval_id) in (["409", "granted"], ["409", "denied"])
    assert client.approve(url, BOB, big.approval_id, "fine").status == "pending"
    assert _refused(client.approve, url, BOB, big.approval_id).error == "already_voted"
    assert client.approve(url, DAVE, big.approval_id, "agreed").status == "granted"

    events = harness.approvals(8, of=ids)  # 4 requests + 4 outcomes
    assert len(events) == 8
    assert len(harness.approvals(9, of=ids, timeout_s=2)) == 8  # and no second outcome
    grant = _of(events, m.ApprovalGranted, refund.approval_id)[0]
    assert (grant.approver, grant.approver_role, grant.comment, grant.payload_hash) == (
        "alice",
        "support-lead",
        "refund is fine",
        refund.arguments_hash,
    )
    assert grant.envelope.event_id == granted.event_id
    assert harness.verifies(grant)
    assert harness.verifies(_of(events, m.ApprovalDenied, email.approval_id)[0])
    assert len([e for e in events if e.approval_id == raced.approval_id]) == 2
    quorum = _of(events, m.ApprovalGranted, big.approval_id)[0]
    assert quorum.approver == "bob+dave"
    assert harness.verifies(quorum)
    with store.transaction(read_only=True) as conn:
        decided = REQUESTS.get(conn, refund.approval_id)
    assert (decided.status, decided.decided_by) == (ApprovalStatus.GRANTED, "alice")


@pytest.mark.integration
@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
def test_bad_input_gets_json_errors_and_bad_decisions_are_dead_lettered(
    engine, make_decision, harness
):
    store = Store(engine)
    url = harness.start(store).base_url
    decision = make_decision()
    forged = make_decision().model_copy(update={"arguments_json": '{"amount_cents":1}'})
    harness.publish([decision, forged])
    harness.approvals(1, of=[decision.approval_id])
    _pending_rows(store, [decision.approval_id])
    [dead] = harness.dead_letters(1)
    assert isinstance(dead, m.DeadLettered)
    assert dead.failure.code == "arguments_hash_mismatch"

    alice = {"Authorization": f"Bearer {ALICE}"}
    answers = [
        (httpx.get(f"{url}/approvals"), 401, "unauthenticated"),
        (httpx.get(f"{url}/approvals/nope", headers=alice), 404, "not_found"),
        (
            httpx.post(
                f"{url}/approvals/{decision.approval_id}/approve",
                headers=alice,
                json={"comment": "x" * 3000},
            ),
            422,
            "invalid_request",
        ),
    ]
    for response, status, code in answers:
        body = response.json()
        assert (response.status_code, body["error"]) == (status, code)
        assert set(body) == {"error", "message", "options"}
    detail = client.get(url, ALICE, decision.approval_id)
    assert (detail.arguments_json, detail.reason) == (decision.arguments_json, decision.reason)
    assert httpx.get(f"{url}/healthz").json() == {"status": "ok"}
    page = httpx.get(f"{url}/")
    assert page.headers["content-type"].startswith("text/html")
    assert "/approvals/" in page.text
