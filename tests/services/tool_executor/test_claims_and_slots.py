"""Contract: call claims and approval slots, on every backend."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import Engine, select, text

from agentdeck.contracts.models import DecisionOutcome
from agentdeck.privacy import KeyRing, MasterKey, Sealer, is_sealed
from agentdeck.store import Store, transaction
from agentdeck.store.errors import StoreIntegrityError
from agentdeck.tool_executor.adapters.claims import ClaimsRepository
from agentdeck.tool_executor.adapters.ledger import CallLedger
from agentdeck.tool_executor.adapters.slots import SlotsRepository
from agentdeck.tool_executor.adapters.tables import ApprovalSlotRow, ClaimRow
from agentdeck.tool_executor.core.parking import ApprovalSlot, decision_to_json
from agentdeck.tool_executor.core.plan import Claim
from testkit.authority import PII_MASTER_KEY

if TYPE_CHECKING:
    from testkit.sql import NewId

    from .conftest import Authority

claims = ClaimsRepository()
slots = SlotsRepository()


def test_unclaimed_keys_have_no_claim(engine: Engine, new_id: NewId) -> None:
    with transaction(engine, read_only=True) as conn:
        assert claims.get_many(conn, [new_id("key"), new_id("key")]) == {}
        assert claims.get_many(conn, []) == {}


def test_claims_are_read_back_by_key_in_one_go(
    engine: Engine, new_id: NewId, now: datetime
) -> None:
    first, second = new_id("key"), new_id("key")
    written = {first: Claim("dec-1", "evt-1"), second: Claim("dec-2", "evt-2")}
    with transaction(engine) as conn:
        assert claims.add_many(conn, written, now) == 2
    with transaction(engine, read_only=True) as conn:
        assert claims.get_many(conn, [first, second, new_id("key")]) == written
        at = conn.execute(select(ClaimRow.claimed_at).where(ClaimRow.idempotency_key == first))
        assert at.scalar_one() == now


def test_a_claimed_key_keeps_its_first_claim(engine: Engine, new_id: NewId, now: datetime) -> None:
    key, other = new_id("key"), new_id("key")
    with transaction(engine) as conn:
        claims.add_many(conn, {key: Claim("dec-1", "evt-1")}, now)
    with transaction(engine) as conn:
        later = now + timedelta(seconds=1)
        fresh = claims.add_many(conn, {key: Claim("dec-2", "evt-2"), other: Claim("d", "e")}, later)
    assert fresh == 1, "only the unclaimed key is new"
    with transaction(engine, read_only=True) as conn:
        assert claims.get_many(conn, [key]) == {key: Claim("dec-1", "evt-1")}


def _slot(approval_id: str, **fields: str) -> ApprovalSlot:
    return ApprovalSlot(approval_id=approval_id, state="waiting", **fields)


def test_slots_are_written_and_read_back_in_one_go(
    engine: Engine, new_id: NewId, now: datetime
) -> None:
    waiting = _slot(new_id("approval"), decision='{"parked": true}')
    granted = ApprovalSlot(
        approval_id=new_id("approval"), state="granted", grant_event_id="g1", payload_hash="h"
    )
    with transaction(engine) as conn:
        slots.upsert_many(conn, [waiting, granted], now)
        slots.upsert_many(conn, [], now)
    with transaction(engine, read_only=True) as conn:
        found = slots.get_many(conn, [waiting.approval_id, granted.approval_id, new_id("a")])
        assert slots.get_many(conn, []) == {}
    assert found == {waiting.approval_id: waiting, granted.approval_id: granted}


def test_the_last_write_of_a_slot_wins_field_by_field(
    engine: Engine, new_id: NewId, now: datetime
) -> None:
    approval = new_id("approval")
    with transaction(engine) as conn:
        slots.upsert_many(conn, [_slot(approval, decision="{}", payload_hash="h")], now)
    closed = ApprovalSlot(approval_id=approval, state="closed")
    later = now + timedelta(seconds=5)
    with transaction(engine) as conn:
        slots.upsert_many(conn, [closed], later)
    with transaction(engine, read_only=True) as conn:
        assert slots.get_many(conn, [approval]) == {approval: closed}
        at = select(ApprovalSlotRow.updated_at).where(ApprovalSlotRow.approval_id == approval)
        assert conn.execute(at).scalar_one() == later


def test_a_slot_state_outside_the_four_is_refused(engine: Engine, new_id: NewId) -> None:
    insert = text(
        "INSERT INTO executor_approval_slots (approval_id, state, updated_at)"
        " VALUES (:a, 'lost', CURRENT_TIMESTAMP)"
    )
    with pytest.raises(StoreIntegrityError), transaction(engine) as conn:
        conn.execute(insert, {"a": new_id("approval")})


def _sealing_ledger(engine: Engine) -> tuple[CallLedger, KeyRing]:
    store = Store(engine)
    keys = KeyRing(store, MasterKey.from_b64(PII_MASTER_KEY), cache_s=0)
    return CallLedger(store, cipher=Sealer(keys)), keys


def test_a_parked_decision_is_kept_sealed_and_reads_back_opened(
    engine: Engine, authority: Authority, now: datetime
) -> None:
    secret = f"canary{uuid.uuid4().hex[:12]}"
    decision = authority.decision(
        "send_email",
        {"to": f"{secret}@example.com", "subject": "s", "body": "b"},
        outcome=DecisionOutcome.REQUIRE_APPROVAL,
    )
    approval = decision.approval_id or ""
    parked = _slot(approval, decision=decision_to_json(decision))
    ledger, _ = _sealing_ledger(engine)
    sealed = ledger.seal_slots({approval: parked})
    with transaction(engine) as conn:
        ledger.save_slots(conn, sealed, now)
    with transaction(engine, read_only=True) as conn:
        stored = slots.get_many(conn, [approval])[approval].decision
        assert ledger.slots(conn, [approval]) == {approval: parked}
    assert stored is not None
    assert is_sealed(stored)
    assert secret not in stored


def test_a_parked_decision_of_an_erased_subject_reads_as_none(
    engine: Engine, authority: Authority, now: datetime
) -> None:
    decision = authority.decision(
        "create_refund",
        {"order_id": "1042", "amount_cents": 9000, "reason": "r"},
        outcome=DecisionOutcome.REQUIRE_APPROVAL,
    )
    approval = decision.approval_id or ""
    ledger, keys = _sealing_ledger(engine)
    sealed = ledger.seal_slots({approval: _slot(approval, decision=decision_to_json(decision))})
    with transaction(engine) as conn:
        ledger.save_slots(conn, sealed, now)
    run_id = decision.envelope.run_id or ""
    assert keys.erase(keys.run_kid(run_id, decision.envelope.tenant), reason="request")
    with transaction(engine, read_only=True) as conn:
        assert ledger.slots(conn, [approval]) == {approval: _slot(approval)}
