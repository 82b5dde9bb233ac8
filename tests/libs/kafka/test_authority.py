"""Events that carry authority are acted on only when their entitled writer signed the record."""

import pytest

from agentdeck.contracts import default_codec
from agentdeck.contracts import models as m
from agentdeck.kafka import ENTITLED, EventAuthority
from agentdeck.signing import Signer, generate_private_key, sign_record
from testkit.authority import OPERATOR, PLANNER, POLICY, WRITERS
from testkit.kafka import goal, started

AUTHORITY = EventAuthority(WRITERS)


def _refusal(event, signer: Signer | None, value: bytes | None = None):  # type: ignore[no-untyped-def]
    encoded = default_codec().encode(event)
    headers = sign_record(signer, encoded) if signer is not None else []
    return AUTHORITY.refusal(event, value if value is not None else encoded, headers)


def test_a_run_start_signed_by_the_planner_is_acted_on():
    assert _refusal(started(goal(1)), PLANNER) is None


def test_an_unsigned_run_start_is_refused():
    refused = _refusal(started(goal(1)), None)
    assert refused is not None
    assert refused.code == "event_unsigned"
    assert "planner" in refused.remediation[0]


def test_a_run_start_signed_by_an_unregistered_key_is_refused():
    stranger = Signer("planner-1", generate_private_key())  # a known key id, another key
    refused = _refusal(started(goal(1)), stranger)
    assert refused is not None
    assert refused.code == "event_signature_invalid"


def test_a_record_changed_after_signing_is_refused():
    event = started(goal(1))
    other = default_codec().encode(started(goal(2)))
    encoded = default_codec().encode(event)
    refused = AUTHORITY.refusal(event, other, sign_record(PLANNER, encoded))
    assert refused is not None
    assert refused.code == "event_signature_invalid"


@pytest.mark.parametrize("signer", [POLICY, OPERATOR])
def test_a_run_start_signed_by_another_writer_is_refused(signer):
    refused = _refusal(started(goal(1)), signer)
    assert refused is not None
    assert refused.code == "event_writer_not_entitled"


def test_a_kill_switch_must_come_from_an_operator():
    switch = m.KillSwitchSet.model_validate(
        {
            "envelope": started(goal(1)).envelope.model_copy(
                update={"event_type": m.KillSwitchSet.EVENT_TYPE, "run_id": None}
            ),
            "scope": m.KillSwitchScope.GLOBAL,
            "target": "*",
            "engaged": False,
            "set_by": "mallory",
            "reason": "lift it",
        }
    )
    assert _refusal(switch, OPERATOR) is None
    refused = _refusal(switch, PLANNER)
    assert refused is not None
    assert refused.code == "event_writer_not_entitled"


def test_events_without_authority_of_their_own_need_no_signature():
    assert m.ToolCallCompleted not in ENTITLED
    assert _refusal(goal(1), None) is None  # goals are checked against the producer registry


def test_every_event_that_carries_authority_has_a_writer():
    carrying = {
        m.ToolCallRequested,
        m.PolicyDecided,
        m.ApprovalGranted,
        m.ApprovalDenied,
        m.KillSwitchSet,
        m.RunCompleted,
        m.RunFailed,
    }
    assert carrying <= ENTITLED.keys()
    assert all(ENTITLED[e] for e in carrying)


def test_a_rollback_request_must_come_from_an_operator():
    request = m.RollbackRequested(
        envelope=started(goal(1)).envelope.model_copy(
            update={"event_type": m.RollbackRequested.EVENT_TYPE, "run_id": "rollback-1"}
        ),
        target_runs=("run-1",),
        requested_by="mallory",
        reason="undo it",
    )
    assert _refusal(request, OPERATOR) is None
    for signer in (PLANNER, POLICY):
        refused = _refusal(request, signer)
        assert refused is not None
        assert refused.code == "event_writer_not_entitled"
    unsigned = _refusal(request, None)
    assert unsigned is not None
    assert unsigned.code == "event_unsigned"
