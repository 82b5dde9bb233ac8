"""Sealing personal data per subject, and erasing it by destroying the subject's key."""

from __future__ import annotations

import base64
import os
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update

from agentdeck.contracts import default_codec, envelope_for
from agentdeck.contracts import models as m
from agentdeck.errors import ConfigError
from agentdeck.privacy import KeyRing, MasterKey, Sealer, erased_fields, is_sealed, run_subject
from agentdeck.store import Store
from agentdeck.store._models import SubjectKeyRow
from testkit.kafka import NOW, TEST_PRODUCER

MASTER = MasterKey.from_b64(base64.b64encode(os.urandom(32)).decode())
SECRET = "kim.canary@example.com"


class Ticking:
    """Monotonic seconds the test moves."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def keys(engine) -> KeyRing:  # type: ignore[no-untyped-def]
    return KeyRing(Store(engine), MASTER, cache_s=30, clock=Ticking())


@pytest.fixture
def codec(keys):  # type: ignore[no-untyped-def]
    return default_codec().with_cipher(Sealer(keys))


def _goal(subject: str | None = None, run_id: str | None = None) -> m.GoalSubmitted:
    run = run_id or f"run-{uuid.uuid4().hex[:8]}"
    env = envelope_for(
        m.GoalSubmitted,
        event_id=f"goal-{run}",
        tenant="acme",
        producer=TEST_PRODUCER,
        occurred_at=NOW,
        run_id=run,
    )
    return m.GoalSubmitted(
        envelope=env,
        goal=f"write to {SECRET}",
        inputs_json=f'{{"email": "{SECRET}"}}',
        requested_by="crm",
        limits=m.RunLimits(),
        data_subject=subject,
    )


def _request(run_id: str, event_id: str = "req-1") -> m.ToolCallRequested:
    env = envelope_for(
        m.ToolCallRequested,
        event_id=event_id,
        tenant="acme",
        producer=TEST_PRODUCER,
        occurred_at=NOW,
        run_id=run_id,
        step_id="s1",
    )
    return m.ToolCallRequested(
        envelope=env,
        tool="draft_email",
        arguments_json=f'{{"to": "{SECRET}"}}',
        arguments_hash="0" * 64,
        idempotency_key="k",
        side_effect=m.SideEffect.WRITE,
        max_cost_micros=1,
        attempt=1,
    )


def test_the_schemas_mark_where_personal_data_lives():
    sensitive = default_codec().sensitive
    assert sensitive.paths(m.GoalSubmitted.EVENT_TYPE) == (("goal",), ("inputs_json",))
    assert ("steps", "arguments_json") in sensitive.paths(m.PlanProposed.EVENT_TYPE)
    assert sensitive.paths(m.ToolCallCompleted.EVENT_TYPE) == (("output_json",),)
    assert not sensitive.has(m.RunStarted.EVENT_TYPE)


def test_sealed_fields_leave_no_plain_text_and_open_to_the_same_event(codec):
    goal = _goal("customer:1")
    data = codec.encode(goal)
    assert SECRET.encode() not in data
    assert SECRET.encode() in default_codec().encode(goal)
    assert codec.decode(data) == goal
    assert codec.encode(goal) == data, "sealing is deterministic: same event, same bytes"
    sealed = default_codec().decode(data)
    assert is_sealed(sealed.goal)
    assert sealed.requested_by == "crm", "only the marked fields are sealed"


def test_a_run_bound_to_its_goals_subject_seals_every_event_under_that_key(codec, keys):
    goal = _goal("customer:7")
    run = goal.envelope.run_id
    assert run is not None
    kid = keys.bind(run, "acme", "customer:7")
    assert kid == keys.kid("acme", "customer:7")
    assert "customer" not in kid, "the key id never names the subject"
    request = default_codec().decode(codec.encode(_request(run)))
    assert request.arguments_json.startswith(f"sealed:v1:{kid}:")
    assert keys.bind(run, "acme", "customer:other") == kid, "the first binding holds"


def test_a_batch_of_runs_is_bound_at_once_sharing_subject_keys_and_first_bindings_hold(codec, keys):
    first = keys.bind_many(
        [
            ("batch-a", "acme", "customer:9"),
            ("batch-b", "acme", "customer:9"),
            ("batch-c", "acme", None),
        ]
    )
    shared = keys.kid("acme", "customer:9")
    assert first == {
        "batch-a": shared,
        "batch-b": shared,
        "batch-c": keys.kid("acme", run_subject("batch-c")),
    }
    again = keys.bind_many(
        [("batch-a", "acme", "customer:other"), ("batch-d", "acme", "customer:9")]
    )
    assert again == {"batch-a": shared, "batch-d": shared}, "the first binding holds"
    for run in ("batch-a", "batch-c"):
        request = default_codec().decode(codec.encode(_request(run)))
        assert request.arguments_json.startswith(f"sealed:v1:{first[run]}:")
        assert (
            codec.decode(codec.encode(_request(run))).arguments_json == _request(run).arguments_json
        )


def test_a_run_without_a_subject_is_its_own_subject(codec, keys):
    request = default_codec().decode(codec.encode(_request("lonely-run")))
    own = keys.kid("acme", run_subject("lonely-run"))
    assert request.arguments_json.startswith(f"sealed:v1:{own}:")


def test_a_sealed_value_moved_to_another_event_does_not_open(codec):
    sealed = default_codec().decode(codec.encode(_request("r", event_id="req-1")))
    moved = sealed.model_copy(
        update={"envelope": sealed.envelope.model_copy(update={"event_id": "req-2"})}
    )
    opened = codec.decode(default_codec().encode(moved))
    assert is_sealed(opened.arguments_json)


def test_another_master_key_opens_nothing(codec, engine):
    data = codec.encode(_goal("customer:2"))
    stranger = MasterKey.from_b64(base64.b64encode(os.urandom(32)).decode())
    other = default_codec().with_cipher(Sealer(KeyRing(Store(engine), stranger)))
    assert is_sealed(other.decode(data).inputs_json)


def test_erasing_a_subject_makes_its_data_unreadable_and_keeps_the_bytes(codec, keys, engine):
    goal = _goal("customer:3")
    data = codec.encode(goal)
    assert keys.erase(keys.kid("acme", "customer:3"), reason="request")
    fresh = default_codec().with_cipher(Sealer(KeyRing(Store(engine), MASTER)))
    erased = fresh.decode(data)
    assert is_sealed(erased.goal)
    assert is_sealed(erased.inputs_json)
    assert erased_fields([erased], fresh.sensitive) == [
        f"GoalSubmitted {goal.envelope.event_id} goal",
        f"GoalSubmitted {goal.envelope.event_id} inputs_json",
    ]
    assert fresh.encode(erased) == data, "what was sealed re-encodes to the logged bytes"
    again = fresh.encode(_goal("customer:3", run_id=goal.envelope.run_id))
    assert SECRET.encode() not in again, "data written after the erasure is dropped, not sealed"
    assert is_sealed(fresh.decode(again).goal)


def test_an_erased_subject_never_gets_a_new_key(keys):
    kid = keys.kid("acme", "customer:never")
    assert not keys.erase(kid, reason="request"), "no live key existed"
    assert keys.key(kid, create_for="acme") is None


def test_a_cached_key_is_dropped_within_the_cache_time(engine):
    clock = Ticking()
    holder = KeyRing(Store(engine), MASTER, cache_s=30, clock=clock)
    kid = holder.kid("acme", "customer:4")
    assert holder.key(kid, create_for="acme") is not None
    KeyRing(Store(engine), MASTER).erase(kid, reason="request")  # another process
    assert holder.key(kid) is not None, "still cached"
    clock.now = 31
    assert holder.key(kid) is None


def test_retention_finds_the_subjects_no_run_used_for_longer_than_allowed(keys, engine):
    store = Store(engine)
    tenant = f"t{uuid.uuid4().hex[:6]}"
    old = keys.bind("old-run", tenant, "customer:old")
    keys.bind("new-run", tenant, "customer:new")
    with store.transaction() as conn:
        conn.execute(
            update(SubjectKeyRow)
            .where(SubjectKeyRow.kid == old)
            .values(last_bound_at=datetime.now(UTC) - timedelta(days=40))
        )
    with store.transaction(read_only=True) as conn:
        idle = store.subject_keys.idle_since(conn, tenant, datetime.now(UTC) - timedelta(days=30))
    assert list(idle) == [old]


def test_a_malformed_master_key_is_a_config_error():
    with pytest.raises(ConfigError, match="not base64 of 32 bytes"):
        MasterKey.from_b64("c2hvcnQ=")


def test_values_inside_arrays_of_records_are_sealed_too(codec):
    env = envelope_for(
        m.PlanProposed,
        event_id="plan-1",
        tenant="acme",
        producer=TEST_PRODUCER,
        occurred_at=NOW,
        run_id="planned-run",
    )
    step = m.PlannedStep(step_id="s1", tool="draft_email", arguments_json=f'{{"to": "{SECRET}"}}')
    plan = m.PlanProposed(
        envelope=env, plan_version=1, source="llm", steps=(step, step), rationale="why"
    )
    data = codec.encode(plan)
    assert SECRET.encode() not in data
    sealed = default_codec().decode(data)
    assert all(is_sealed(s.arguments_json) for s in sealed.steps)
    assert len(erased_fields([sealed], codec.sensitive)) == 3
    assert codec.decode(data) == plan


def test_a_failure_message_is_sealed_and_its_code_stays_readable(codec):
    env = envelope_for(
        m.ToolCallFailed,
        event_id="failed-1",
        tenant="acme",
        producer=TEST_PRODUCER,
        occurred_at=NOW,
        run_id="failing-run",
    )
    failure = m.ErrorInfo(
        capability="tool.draft_email",
        code="recipient_unknown",
        category=m.ErrorCategory.VALIDATION,
        retryable=False,
        message=f"no mailbox {SECRET}",
    )
    failed = m.ToolCallFailed(
        envelope=env, tool="draft_email", idempotency_key="k", failure=failure
    )
    data = codec.encode(failed)
    assert SECRET.encode() not in data
    sealed = default_codec().decode(data)
    assert is_sealed(sealed.failure.message)
    assert sealed.failure.code == "recipient_unknown"
    assert codec.decode(data) == failed


def test_a_key_is_read_while_the_caller_holds_the_write_transaction(tmp_path):
    # SQLite admits one writer: a service seals while its own write transaction is
    # open (an approval's outbox), so reading an existing key must not need another.
    store = Store.open("", data_dir=str(tmp_path))
    try:
        kid = KeyRing(store, MASTER).bind("held-run", "acme", "customer:held")
        fresh = KeyRing(store, MASTER)  # nothing cached: the key comes from the store
        with store.transaction() as conn:
            conn.execute(
                update(SubjectKeyRow).where(SubjectKeyRow.kid == kid).values(erased_reason=None)
            )
            assert fresh.key(kid, create_for="acme") is not None
    finally:
        store.close()


def test_a_batch_prepared_before_decoding_reads_its_keys_once(engine, codec, monkeypatch):
    records = [codec.encode(_request(f"prefetch-{n}")) for n in range(5)]
    reader = KeyRing(Store(engine), MASTER, cache_s=30, clock=Ticking())
    opening = default_codec().with_cipher(Sealer(reader))
    repository = type(reader._store.subject_keys)
    reads = {"get": 0, "get_many": 0}
    for name in reads:
        original = getattr(repository, name)

        def counted(self, *args, _name=name, _original=original, **kwargs):  # type: ignore[no-untyped-def]
            reads[_name] += 1
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(repository, name, counted)

    opening.prepare(records)
    opened = [opening.decode(r) for r in records]

    assert reads == {"get": 0, "get_many": 1}, "one read for the batch, none per record"
    assert [e.arguments_json for e in opened] == [
        _request(f"prefetch-{n}").arguments_json for n in range(5)
    ]


def test_a_batch_of_outputs_prepared_before_encoding_reads_its_runs_keys_once(
    engine, keys, monkeypatch
):
    runs = [f"outputs-{n}" for n in range(4)]
    # Admission binds every run: two to a named subject, two to themselves.
    keys.bind_many(
        [(run, "acme", f"customer:{run}" if n < 2 else None) for n, run in enumerate(runs)]
    )
    writer = KeyRing(Store(engine), MASTER, cache_s=30, clock=Ticking())
    sealing = default_codec().with_cipher(Sealer(writer))
    repository = type(writer._store.subject_keys)
    calls: list[str] = []
    for name in ("get", "get_many", "kid_of_run", "kids_of_runs"):
        original = getattr(repository, name)

        def counted(self, *args, _name=name, _original=original, **kwargs):  # type: ignore[no-untyped-def]
            calls.append(_name)
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(repository, name, counted)
    events = [_request(run) for run in runs]

    sealing.prepare_events(events)
    sealed = [default_codec().decode(sealing.encode(e)) for e in events]

    assert calls == ["kids_of_runs", "get_many"], "one read for the batch, none per event"
    assert [s.arguments_json.split(":")[2] for s in sealed] == [
        keys.kid("acme", f"customer:{runs[0]}"),
        keys.kid("acme", f"customer:{runs[1]}"),
        keys.kid("acme", run_subject(runs[2])),
        keys.kid("acme", run_subject(runs[3])),
    ]
