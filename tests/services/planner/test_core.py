"""The planner's decisions, driven event by event with no broker, database or clock."""

import dataclasses
import hashlib
import json
from datetime import UTC, datetime, timedelta

import pytest

from agentdeck.contracts import Event, Producer, deterministic_id, envelope_for, follow_up
from agentdeck.contracts import models as m
from agentdeck.hashing import canonical_json
from agentdeck.planner.adapters.playbooks import bundled_playbooks
from agentdeck.planner.core import Context, RunPhase, RunState, StepStatus, Templates, decide
from agentdeck.planner.core.context import ToolInfo
from agentdeck.planner.core.playbook import Playbook, PlaybookStep

NOW = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
ME = Producer(service="planner", version="test")
TOOLS = {
    "lookup_order": ToolInfo("1", m.SideEffect.READ, 100),
    "create_refund": ToolInfo("1", m.SideEffect.WRITE, 1_000),
    "draft_email": ToolInfo("1", m.SideEffect.READ, 100),
    "send_email": ToolInfo("1", m.SideEffect.IRREVERSIBLE, 500),
}
ORDER = {
    "order_id": "1042",
    "customer_email": "kim@example.com",
    "amount_cents": 4200,
    "currency": "USD",
    "status": "paid",
    "refundable_cents": 4200,
}


def ctx(now: datetime = NOW) -> Context:
    return Context(
        now=now, producer=ME, playbooks=bundled_playbooks(), tools=TOOLS, templates=Templates()
    )


def goal(amount: int = 2000, version: str | None = None, **limits: object) -> m.GoalSubmitted:
    env = envelope_for(
        m.GoalSubmitted,
        event_id=deterministic_id("g", str(amount)),
        tenant="acme",
        producer=Producer(service="crm", version="1"),
        occurred_at=NOW,
        run_id=f"run-{amount}",
    )
    inputs = {"order_id": "1042", "amount_cents": amount, "reason": "damaged"}
    return m.GoalSubmitted(
        envelope=env,
        goal="refund",
        inputs_json=json.dumps(inputs),
        playbook="refund-order",
        playbook_version=version,
        requested_by="crm",
        limits=m.RunLimits(**limits),
    )  # type: ignore[arg-type]


class Run:
    """Feeds events to decide() and keeps the state and every event emitted."""

    def __init__(self, first: m.GoalSubmitted, now: datetime = NOW) -> None:
        self.state, self.emitted = decide(None, first, ctx(now))

    def feed(self, event: Event, now: datetime = NOW) -> list[Event]:
        self.state, out = decide(self.state, event, ctx(now))
        self.emitted += out
        return out

    @property
    def run(self) -> RunState:
        assert self.state is not None
        return self.state

    def request(self, step: str) -> m.ToolCallRequested:
        found = [
            e
            for e in self.emitted
            if isinstance(e, m.ToolCallRequested) and e.envelope.step_id == step
        ]
        assert found, f"no request for {step}"
        return found[-1]

    def decision(
        self, step: str, outcome: m.DecisionOutcome, reason: str = "ok"
    ) -> m.PolicyDecided:
        req = self.request(step)
        return m.PolicyDecided(
            envelope=follow_up(req, m.PolicyDecided, producer=ME, occurred_at=NOW),
            decision_id="d-" + step,
            request_id=req.envelope.event_id,
            tool=req.tool,
            arguments_hash=req.arguments_hash,
            outcome=outcome,
            reason=reason,
            bundle_version="1",
            bundle_digest="x",
            key_id="k",
            signature=b"s",
        )

    def completed(
        self, step: str, output: dict[str, object], cost: int = 100
    ) -> m.ToolCallCompleted:
        req = self.request(step)
        return m.ToolCallCompleted(
            envelope=follow_up(req, m.ToolCallCompleted, producer=ME, occurred_at=NOW),
            tool=req.tool,
            idempotency_key=req.idempotency_key,
            output_json=json.dumps(output),
            output_hash="h",
            cost_micros=cost,
            duration_ms=3,
            provenance=m.Provenance(source="desk", fetched_at=NOW, tool_version="1"),
        )

    def failed(self, step: str, *, retryable: bool) -> m.ToolCallFailed:
        req = self.request(step)
        failure = m.ErrorInfo(
            capability=f"tool.{req.tool}",
            code="timeout",
            category="TRANSIENT" if retryable else "PERMANENT",
            retryable=retryable,
            message="took too long",
        )
        return m.ToolCallFailed(
            envelope=follow_up(req, m.ToolCallFailed, producer=ME, occurred_at=NOW),
            tool=req.tool,
            idempotency_key=req.idempotency_key,
            failure=failure,
        )

    def allow_and_complete(self, step: str, output: dict[str, object]) -> list[Event]:
        self.feed(self.decision(step, m.DecisionOutcome.ALLOW))
        return self.feed(self.completed(step, output))


def types(events: list[Event]) -> list[str]:
    return [type(e).__name__ for e in events]


def test_a_goal_starts_the_run_and_requests_the_first_step():
    run = Run(goal())
    assert types(run.emitted) == [
        "RunStarted",
        "PlanProposed",
        "ToolCallRequested",
    ]
    started = run.emitted[0]
    assert isinstance(started, m.RunStarted)
    assert (started.pinned_version, started.envelope.agent) == ("2", "support-agent")
    req = run.request("lookup")
    assert json.loads(req.arguments_json) == {"order_id": "1042"}
    assert req.side_effect is m.SideEffect.READ


def test_an_allowed_refund_runs_to_completion_with_its_output():
    run = Run(goal(2000))
    run.allow_and_complete("lookup", ORDER)
    assert json.loads(run.request("refund").arguments_json)["amount_cents"] == 2000
    run.allow_and_complete("refund", {"refund_id": "rf-1", "amount_cents": 2000})
    out = run.allow_and_complete("draft", {"to": "kim@example.com", "subject": "s", "body": "b"})
    assert types(out) == ["RunCompleted"], "notify is skipped: send_email was not asked for"
    done = out[0]
    assert isinstance(done, m.RunCompleted)
    assert json.loads(done.output_json) == {
        "order_id": "1042",
        "refund_id": "rf-1",
        "handed_over": False,
        "declined": False,
    }
    assert (done.steps, done.tool_calls, done.cost_micros) == (3, 3, 300)
    assert run.run.phase is RunPhase.COMPLETED
    assert run.run.step("notify").status is StepStatus.SKIPPED


def test_a_refund_the_order_cannot_cover_is_skipped_and_nothing_claims_it_happened():
    run = Run(goal(5000))  # the order has 42.00 left to refund
    run.allow_and_complete("lookup", ORDER)
    assert run.run.step("refund").status is StepStatus.SKIPPED
    assert run.run.step("draft").status is StepStatus.SKIPPED, "it would say we refunded"
    assert run.run.step("notify").status is StepStatus.SKIPPED
    declined = json.loads(run.request("decline").arguments_json)
    assert declined["body"] == (
        "We could not refund 50.00 USD: 42.00 USD of the order can still be refunded."
    )
    out = run.allow_and_complete("decline", {"to": "kim@example.com", "subject": "s", "body": "b"})
    done = out[-1]
    assert isinstance(done, m.RunCompleted)
    assert json.loads(done.output_json) == {
        "order_id": "1042",
        "refund_id": None,
        "handed_over": False,
        "declined": True,
    }
    bodies = [
        json.loads(e.arguments_json).get("body", "")
        for e in run.emitted
        if isinstance(e, m.ToolCallRequested)
    ]
    assert not [b for b in bodies if "We refunded" in b]


def test_a_step_whose_trigger_allows_a_skipped_dependency_still_runs():
    run = Run(goal(5000, version="1"))  # v1's draft: trigger none_failed
    run.allow_and_complete("lookup", ORDER)
    assert run.run.step("refund").status is StepStatus.SKIPPED
    assert "We refunded 50.00 USD" in json.loads(run.request("draft").arguments_json)["body"]


def test_a_refund_waiting_for_approval_resumes_when_granted():
    run = Run(goal(23000))
    run.allow_and_complete("lookup", ORDER | {"refundable_cents": 23000})
    run.feed(run.decision("refund", m.DecisionOutcome.REQUIRE_APPROVAL))
    assert run.run.step("refund").status is StepStatus.WAITING_APPROVAL
    req = run.request("refund")
    granted = m.ApprovalGranted(
        envelope=follow_up(req, m.ApprovalGranted, producer=ME, occurred_at=NOW),
        approval_id="a",
        payload_hash=req.arguments_hash,
        approver="alice",
        approver_role="support-lead",
        key_id="k",
        signature=b"s",
    )
    run.feed(granted)
    assert run.run.step("refund").status is StepStatus.APPROVED
    out = run.feed(run.completed("refund", {"refund_id": "rf-2"}))
    assert types(out) == ["ToolCallRequested"]


def test_a_denied_refund_replans_to_a_human_handover_with_the_reason():
    run = Run(goal(90000))
    run.allow_and_complete("lookup", ORDER | {"refundable_cents": 90000})
    out = run.feed(run.decision("refund", m.DecisionOutcome.DENY, "refunds above $500 denied"))
    assert types(out) == ["PlanProposed", "ToolCallRequested"]
    replan = out[0]
    assert isinstance(replan, m.PlanProposed)
    assert replan.plan_version == 2
    assert "refunds above $500 denied" in (replan.rationale or "")
    assert run.run.step("refund").failure is not None
    done = run.allow_and_complete("handover", {"to": "x", "subject": "s", "body": "b"})
    assert json.loads(done[-1].output_json)["handed_over"] is True  # type: ignore[attr-defined]


def test_a_retryable_tool_failure_is_retried_as_a_new_attempt():
    run = Run(goal())
    first = run.request("lookup")
    run.feed(run.decision("lookup", m.DecisionOutcome.ALLOW))
    out = run.feed(run.failed("lookup", retryable=True))
    again = run.request("lookup")
    assert types(out) == ["ToolCallRequested"]
    assert (again.attempt, again.idempotency_key != first.idempotency_key) == (2, True)


@pytest.mark.parametrize("recorded", [True, False], ids=["request-kept", "state-before-requests"])
def test_a_result_of_an_earlier_attempt_is_ignored(recorded: bool):
    run = Run(goal())
    run.feed(run.decision("lookup", m.DecisionOutcome.ALLOW))
    late = run.completed("lookup", ORDER)  # attempt 1's key
    run.feed(run.failed("lookup", retryable=True))
    if not recorded:  # states saved before steps kept their request: the key is derived
        step = run.run.step("lookup")
        run.state = run.run.with_step("lookup", request=None)
        assert step.attempt == run.run.step("lookup").attempt == 2

    assert run.feed(late) == []
    assert run.run.step("lookup").status is StepStatus.REQUESTED
    current = run.completed("lookup", ORDER)  # attempt 2's key
    run.feed(run.decision("lookup", m.DecisionOutcome.ALLOW))
    assert types(run.feed(current)) == ["ToolCallRequested"]
    assert run.run.step("lookup").status is StepStatus.COMPLETED


def test_a_permanent_tool_failure_fails_the_run_with_the_executors_reason():
    run = Run(goal())
    run.feed(run.decision("lookup", m.DecisionOutcome.ALLOW))
    out = run.feed(run.failed("lookup", retryable=False))
    assert types(out) == ["RunFailed"]
    assert out[0].failure.code == "timeout"  # type: ignore[attr-defined]


def test_the_run_budget_stops_the_run_before_an_expensive_call():
    run = Run(goal(2000, max_cost_micros=600))
    out = run.allow_and_complete("lookup", ORDER)
    assert types(out) == ["RunFailed"]
    assert out[0].failure.code == "budget_exceeded"  # type: ignore[attr-defined]


def test_repeating_the_same_call_is_detected_as_a_loop():
    run = Run(goal(2000, max_repeats=1))
    run.feed(run.decision("lookup", m.DecisionOutcome.ALLOW))
    out = run.feed(run.failed("lookup", retryable=True))
    assert types(out) == ["RunFailed"]
    assert out[0].failure.code == "loop_detected"  # type: ignore[attr-defined]


def test_a_passed_deadline_stops_the_run():
    run = Run(goal(2000, deadline=NOW + timedelta(minutes=1)))
    run.feed(run.decision("lookup", m.DecisionOutcome.ALLOW))
    out = run.feed(run.completed("lookup", ORDER), now=NOW + timedelta(minutes=2))
    assert out[0].failure.code == "deadline_exceeded"  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"playbook": "no-such-book"}, "unknown_playbook"),
        ({"inputs_json": "not json"}, "invalid_inputs"),
        ({"inputs_json": "[1]"}, "invalid_inputs"),
        ({"playbook": None}, "no_planner"),
    ],
)
def test_a_goal_that_cannot_be_planned_fails_with_a_machine_readable_reason(change, code):
    run = Run(goal().model_copy(update=change))
    assert types(run.emitted) == ["RunFailed"]
    assert run.emitted[0].failure.code == code  # type: ignore[attr-defined]


def test_missing_inputs_fail_the_run_with_a_template_error():
    bad = goal().model_copy(update={"inputs_json": json.dumps({"amount_cents": 1})})
    run = Run(bad)
    assert run.emitted[-1].failure.code == "template_error"  # type: ignore[attr-defined]


def test_the_same_events_give_the_same_ids_and_stale_results_are_ignored():
    first, second = Run(goal()), Run(goal())
    assert [e.envelope.event_id for e in first.emitted] == [
        e.envelope.event_id for e in second.emitted
    ]
    stale = first.completed("lookup", ORDER)
    first.feed(first.decision("lookup", m.DecisionOutcome.ALLOW))
    first.feed(stale)
    assert first.feed(stale) == [], "a duplicate result changes nothing"
    assert decide(first.state, goal(), ctx())[1] == [], "a duplicate goal changes nothing"


def test_what_requests_are_built_from_unvalidated_is_held_to_its_type():
    # Requests and envelopes are built from the context and the tool's contract as they are.
    with pytest.raises(ValueError, match="timezone-aware"):
        ctx(datetime(2026, 1, 1))  # noqa: DTZ001 -- the naive time refused
    info = ToolInfo("1.0.0", "WRITE", 10)  # type: ignore[arg-type]
    assert info.side_effect is m.SideEffect.WRITE
    with pytest.raises(ValueError, match="SideEffect"):
        ToolInfo("1.0.0", "SOMETIMES", 10)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        ToolInfo("1.0.0", m.SideEffect.READ, "10")  # type: ignore[arg-type]


def test_a_replaced_context_is_what_dataclasses_replace_gives_and_as_strict():
    base = ctx()
    later = NOW + timedelta(seconds=5)
    replay = Producer(service="planner", version="replay")

    replaced = base.replaced(now=later, producer=replay)

    assert replaced == dataclasses.replace(base, now=later, producer=replay)
    assert base.now == NOW, "the context it came from is unchanged"
    with pytest.raises(ValueError, match="timezone-aware"):
        base.replaced(now=datetime(2026, 1, 1))  # noqa: DTZ001 -- the naive time refused
    with pytest.raises(TypeError, match="clock"):
        base.replaced(clock=later)


class _One:
    """A playbook source of one playbook."""

    def __init__(self, playbook: Playbook) -> None:
        self.playbook = playbook

    def get(self, name: str, version: str | None) -> Playbook:  # noqa: ARG002 -- the one
        return self.playbook


def test_a_step_listed_before_the_skipped_step_it_waits_for_runs_in_the_same_decision():
    playbook = Playbook(
        name="refund-order",
        version="9",
        steps=(
            PlaybookStep(
                id="notify", tool="draft_email", depends_on=("refund",), trigger="none_failed"
            ),
            PlaybookStep(id="refund", tool="create_refund", when="inputs.amount_cents > 10**6"),
        ),
    )  # type: ignore[arg-type]
    context = dataclasses.replace(ctx(), playbooks=_One(playbook))

    state, out = decide(None, goal(), context)

    assert state is not None
    assert state.step("refund").status is StepStatus.SKIPPED
    assert types(out) == ["RunStarted", "PlanProposed", "ToolCallRequested"]
    assert out[-1].envelope.step_id == "notify"


def test_a_steps_written_arguments_are_its_own_even_where_an_id_is_reused():
    templates = Templates()
    first = {"order_id": "{{ inputs.order_id }}"}
    other = {"z": 1, "a": [2, "é"]}
    text = '{"a":[2,"é"],"z":1}'
    assert templates.written(other) == (text, hashlib.sha256(text.encode()).hexdigest())
    # An entry left by arguments since gone, under the id new ones got, is not theirs.
    templates._written[id(first)] = (other, text, "x", False)
    assert templates.written(first)[0] == '{"order_id":"{{ inputs.order_id }}"}'
    assert templates.literal(first) is None  # its template is resolved per run
    templates._written[id(first)] = (other, text, "x", False)
    assert templates.literal(first) is None
    for n in range(Templates._WRITTEN_MAX + 1):  # bounded
        templates.written({"n": n})
    assert len(templates._written) <= Templates._WRITTEN_MAX


def test_only_arguments_without_templates_are_sent_as_written():
    templates = Templates()
    plain = {"n": [1, {"x": "{ not a template }"}]}
    text = canonical_json(plain)
    assert templates.literal(plain) == (text, hashlib.sha256(text.encode()).hexdigest())
    assert templates.literal({"n": [1, {"x": "{{ inputs.x }}"}]}) is None
    assert templates.literal({"n": "a {{ run.id }}"}) is None
