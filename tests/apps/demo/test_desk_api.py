"""The desk's API serves a tool's request only with the credential of exactly that call."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from agentdeck.credentials import CredentialKeys, args_sha256, mint
from agentdeck.demo.desk_api import AUDIENCE, CredentialRejected, DeskApi
from agentdeck.demo.sql_desk import SqlDesk
from agentdeck.errors import ErrorCategory
from agentdeck.signing import Signer, generate_private_key
from agentdeck.store import Store

EXECUTOR = Signer("executor-1", generate_private_key())
START = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
REFUND = {"order_id": "3001", "amount_cents": 250, "reason": "damaged"}


class Clock:
    """The desk's clock, moved by the test."""

    def __init__(self) -> None:
        self.now = START + timedelta(seconds=1)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def api(engine, clock):  # type: ignore[no-untyped-def]
    desk = SqlDesk(Store(engine))
    desk.seed()
    keys = CredentialKeys({EXECUTOR.key_id: EXECUTOR.public_key_b64()})
    return DeskApi(desk, keys, clock=clock)


def _credential(call, tool="create_refund", args=REFUND, signer=EXECUTOR):  # type: ignore[no-untyped-def]
    return mint(
        signer,
        issuer="tool-executor",
        audience=AUDIENCE,
        run_id="run-1",
        call_id=call,
        tool=tool,
        args_sha256=args_sha256(args),
        not_before=START,
        not_after=START + timedelta(seconds=30),
    )


def _refund(api, key, credential, **changes):  # type: ignore[no-untyped-def]
    args = {**REFUND, **changes}
    return api.create_refund(**args, key=key, credential=credential)


def _refused(call) -> str:  # type: ignore[no-untyped-def]
    with pytest.raises(CredentialRejected) as caught:
        call()
    assert caught.value.category is ErrorCategory.POLICY
    assert not caught.value.retryable
    return caught.value.code


def test_a_refund_with_its_calls_credential_is_issued(api):
    key = uuid.uuid4().hex
    refund = _refund(api, key, _credential(key))
    assert refund in api.desk.refunds()


def test_a_request_without_a_credential_is_refused(api):
    key = uuid.uuid4().hex
    assert _refused(lambda: _refund(api, key, None)) == "credential_missing"
    assert _refused(lambda: api.order("1042", key=key, credential="")) == "credential_missing"


def test_a_credential_captured_from_one_call_is_refused_for_another(api):
    call_a, call_b = uuid.uuid4().hex, uuid.uuid4().hex
    leaked = _credential(call_a)
    before = api.desk.refunds()
    assert _refused(lambda: _refund(api, call_b, leaked)) == "credential_wrong_call"
    assert api.desk.refunds() == before


def test_a_credential_is_refused_for_other_arguments_or_another_operation(api):
    key = uuid.uuid4().hex
    leaked = _credential(key)
    assert _refused(lambda: _refund(api, key, leaked, amount_cents=90_000)) == (
        "credential_wrong_arguments"
    )
    lookup = _credential(key, tool="lookup_order", args={"order_id": "3001"})
    assert _refused(lambda: _refund(api, key, lookup)) == "credential_wrong_tool"
    email = {"to": "sam@example.com", "subject": "Hi", "body": "x"}
    assert _refused(lambda: api.send_email(**email, key=key, credential=leaked)) == (
        "credential_wrong_tool"
    )


def test_a_credential_is_refused_once_its_call_deadline_has_passed(api, clock):
    key = uuid.uuid4().hex
    leaked = _credential(key)
    clock.now = START + timedelta(seconds=30)
    assert _refused(lambda: _refund(api, key, leaked)) == "credential_expired"
    clock.now = START + timedelta(hours=3)
    assert _refused(lambda: _refund(api, key, leaked)) == "credential_expired"


def test_a_credential_from_a_key_the_desk_does_not_trust_is_refused(api):
    key = uuid.uuid4().hex
    stranger = Signer("executor-1", generate_private_key())
    assert _refused(lambda: _refund(api, key, _credential(key, signer=stranger))) == (
        "credential_bad_signature"
    )
    other = Signer("executor-7", generate_private_key())
    assert _refused(lambda: _refund(api, key, _credential(key, signer=other))) == (
        "credential_unknown_key"
    )


def test_every_operation_checks_its_credential(api):
    key = uuid.uuid4().hex
    order = api.order(
        "1042", key=key, credential=_credential(key, "lookup_order", {"order_id": "1042"})
    )
    assert order.order_id == "1042"
    refund = _refund(api, key, _credential(key))
    cancel = {"refund_id": refund.refund_id, "reason": "kept"}
    with pytest.raises(CredentialRejected):
        api.cancel_refund(**cancel, key=key, credential=_credential(key))
    assert (
        api.cancel_refund(
            **cancel, key=key, credential=_credential(key, "cancel_refund", cancel)
        ).status
        == "cancelled"
    )
    email = {"to": "sam@example.com", "subject": "Hi", "body": "x"}
    with pytest.raises(CredentialRejected):
        api.send_email(**email, key=key, credential=_credential(key, "lookup_order", email))
    assert api.send_email(**email, key=key, credential=_credential(key, "send_email", email))


def test_a_refusal_does_not_repeat_the_credential(api, clock):
    key = uuid.uuid4().hex
    leaked = _credential(key)
    clock.now = START + timedelta(days=1)
    with pytest.raises(CredentialRejected) as caught:
        _refund(api, key, leaked)
    assert leaked not in str(caught.value)
    assert leaked.split(".")[2] not in str(caught.value)


def test_an_email_credential_sends_once_and_its_replay_for_the_same_call_is_refused(api, clock):
    key = uuid.uuid4().hex
    email = {"to": "lee@example.com", "subject": "Refund", "body": "Done."}
    leaked = _credential(key, "send_email", email)
    sent = api.send_email(**email, key=key, credential=leaked)
    replay = lambda: api.send_email(**email, key=key, credential=leaked)  # noqa: E731
    assert _refused(replay) == "credential_replayed"
    assert [e.deliveries for e in api.desk.sent_emails() if e.message_id == sent.message_id] == [1]
    clock.now = START + timedelta(minutes=5)
    assert _refused(replay) == "credential_expired"
