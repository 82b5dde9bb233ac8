"""Large tool outputs leave the executor by claim check: stored once, referenced by the event."""

import json

from agentdeck.claimcheck import parse_reference
from agentdeck.contracts.models import ToolCallCompleted
from agentdeck.hashing import sha256_hex
from agentdeck.settings import StoreSettings


def _draft(authority, body):  # type: ignore[no-untyped-def]
    return authority.decision(
        "draft_email", {"to": "kim@example.com", "subject": "The report", "body": body}
    )


def test_an_output_above_the_threshold_is_stored_and_referenced(authority, make_executor, store):
    body = "The quarterly report in full. " * 600  # about 18 KB of output
    executor = make_executor()
    decision = _draft(authority, body)
    first = executor.handle(decision, commit=False)  # crash after publishing, before commit
    again = executor.handle(decision)
    assert again == first  # re-emitted from the ledger: the same reference
    completed = first[-1]
    assert isinstance(completed, ToolCallCompleted)
    ref = parse_reference(completed.output_json)
    assert ref is not None
    assert ref.digest == completed.output_hash
    with store.transaction(read_only=True) as conn:
        output = store.payloads.get(conn, ref).decode()
    assert sha256_hex(output) == completed.output_hash
    assert json.loads(output)["body"] == body


def test_an_output_below_the_threshold_stays_in_the_event(authority, make_executor):
    completed = make_executor().handle(_draft(authority, "Short note."))[-1]
    assert parse_reference(completed.output_json) is None
    assert json.loads(completed.output_json)["body"] == "Short note."


def test_the_threshold_is_a_setting(authority, make_executor):
    executor = make_executor(store=StoreSettings(claim_check_above_bytes=64))
    completed = executor.handle(_draft(authority, "A note a little longer than 64 bytes."))[-1]
    assert parse_reference(completed.output_json) is not None
