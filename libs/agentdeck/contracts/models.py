"""Typed models of every event, generated from ``schemas/``; do not edit.

Regenerate with ``python -m agentdeck.contracts.codegen``.
"""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar

from pydantic import AwareDatetime

from agentdeck.contracts._base import Record
from agentdeck.errors import ErrorCategory

__all__ = [
    "AdmissionScope",
    "AdmissionSet",
    "ApprovalDenied",
    "ApprovalEscalated",
    "ApprovalExpired",
    "ApprovalGranted",
    "ApprovalRequested",
    "BudgetReserved",
    "BudgetSettled",
    "DeadLettered",
    "DecisionOutcome",
    "Envelope",
    "ErrorInfo",
    "Event",
    "GoalRejected",
    "GoalSubmitted",
    "Header",
    "KillSwitchScope",
    "KillSwitchSet",
    "LlmCallFailed",
    "LlmCallRecorded",
    "PlanProposed",
    "PlannedStep",
    "PlannerKind",
    "PolicyDecided",
    "Principal",
    "Producer",
    "Provenance",
    "RollbackOutcome",
    "RollbackReported",
    "RollbackRequested",
    "RolledBackCall",
    "RunCancelled",
    "RunCompleted",
    "RunDeadlineReached",
    "RunFailed",
    "RunLimits",
    "RunQueued",
    "RunStarted",
    "SideEffect",
    "StepScheduled",
    "SubjectErased",
    "ToolCallCompleted",
    "ToolCallFailed",
    "ToolCallRequested",
    "ToolCallStarted",
]


class AdmissionScope(StrEnum):
    """Which new runs a pause holds. A reader that does not know a symbol reads AGENT: an agent named by an unknown target holds no goal, where GLOBAL would hold every goal."""

    GLOBAL = "GLOBAL"
    TENANT = "TENANT"
    AGENT = "AGENT"


class Producer(Record):
    """The service that wrote the event."""

    service: str
    """Service name, e.g. planner."""
    version: str
    """Version of the service's code."""


class Envelope(Record):
    """Metadata every event carries, whatever its type."""

    event_id: str
    """Deterministic id of this event (uuid5 of what caused it); consumers dedupe on it."""
    event_type: str
    """Full Avro name of the event record, e.g. agentdeck.events.GoalSubmitted."""
    schema_version: int
    """Version of the event record's schema this event was written with."""
    run_id: str | None = None
    """Run the event belongs to; null only for control-plane events that belong to no run."""
    step_id: str | None = None
    """Step of the run the event concerns, if any."""
    causation_id: str | None = None
    """event_id of the event that directly caused this one."""
    correlation_id: str
    """Id shared by every event of one conversation, normally the goal's event_id."""
    tenant: str
    """Tenant (department, customer) the run is billed and governed under."""
    agent: str | None = None
    """Agent acting in the run, if any."""
    producer: Producer
    """Who wrote the event."""
    occurred_at: AwareDatetime
    """When the fact happened (UTC, microseconds)."""
    traceparent: str | None = None
    """W3C traceparent of the span that produced the event."""
    tracestate: str | None = None
    """W3C tracestate accompanying traceparent."""


class ErrorInfo(Record):
    """A machine-readable account of what broke: enough for an agent or an operator to decide what to do next."""

    capability: str
    """The capability that broke, e.g. codec.decode or tool.create_refund."""
    code: str
    """Stable machine-readable reason, e.g. unknown_fingerprint."""
    category: ErrorCategory
    """Broad class of the failure."""
    retryable: bool
    """Whether retrying the same input can help."""
    message: str
    """What happened, for a human."""
    remediation: tuple[str, ...] = ()
    """What can be done, most useful option first."""


class Header(Record):
    """One Kafka record header, kept verbatim."""

    key: str
    """Header name."""
    value: bytes | None = None
    """Header value bytes, null if absent."""


class PlannedStep(Record):
    """One node of a plan's DAG."""

    step_id: str
    """Id of the step, unique within the run."""
    tool: str
    """Tool the step calls."""
    arguments_json: str
    """Arguments as a JSON object; may hold templates resolved when the step is scheduled."""
    depends_on: tuple[str, ...] = ()
    """Steps that must complete first (join)."""
    condition: str | None = None
    """Expression that must hold for the step to run; null runs it unconditionally."""


class Principal(Record):
    """Who a run acts for, as verified when its goal was admitted."""

    producer: str
    """Registered producer whose signed goal started the run."""
    requested_by: str
    """Who the producer says asked for the goal (user or system); may not approve the run's calls."""


class Provenance(Record):
    """Where a tool result came from, so whoever reads it can judge it."""

    source: str
    """System or URL the data came from."""
    fetched_at: AwareDatetime
    """When it was read (UTC)."""
    tool_version: str
    """Version of the tool contract that produced it."""


class RollbackOutcome(StrEnum):
    """UNDONE: its compensation completed; NOT_UNDONE: it may have changed the world and nothing undid it (see reason); NOTHING_TO_UNDO: it only read. A reader that does not know a symbol reads NOT_UNDONE."""

    UNDONE = "UNDONE"
    NOT_UNDONE = "NOT_UNDONE"
    NOTHING_TO_UNDO = "NOTHING_TO_UNDO"


class RolledBackCall(Record):
    """One call of a rolled-back run, and whether a rollback undid it."""

    run_id: str
    """Run the call belongs to."""
    step_id: str
    """Step of that run that made the call."""
    tool: str
    """Tool the call ran."""
    idempotency_key: str
    """Effect-ledger key of the call (its last attempt)."""
    outcome: RollbackOutcome
    """Whether the rollback undid the call."""
    compensation: str | None = None
    """Tool the tool's contract names to undo it; null if none."""
    compensation_step: str | None = None
    """Step of the rollback run that called the compensation; null if it was not called."""
    reason: str
    """Why the call was or was not undone, in words an operator can act on."""


class RunLimits(Record):
    """Hard limits of one run; the planner stops the run when one is reached."""

    max_steps: int = 50
    """Most steps the run may schedule."""
    max_tool_calls: int = 100
    """Most tool calls, retries included."""
    max_tokens: int = 200000
    """Most LLM tokens, prompt and completion together."""
    max_cost_micros: int = 5000000
    """Most spend, in micro-USD (1 USD = 1,000,000)."""
    deadline: AwareDatetime | None = None
    """When the run must be finished (UTC); null for no deadline."""
    max_repeats: int = 3
    """Loop detection: most calls of the same tool with the same arguments."""


class SideEffect(StrEnum):
    """What a tool call can do to the world: READ changes nothing, WRITE can be compensated, IRREVERSIBLE cannot be undone."""

    READ = "READ"
    WRITE = "WRITE"
    IRREVERSIBLE = "IRREVERSIBLE"


class Event(Record):
    """Base of every event: the envelope plus the event's own fields."""

    EVENT_TYPE: ClassVar[str]
    SCHEMA_VERSION: ClassVar[int]
    envelope: Envelope
    """Ids, causation, tenant, producer, time and trace context."""


class AdmissionSet(Event):
    """An operator paused or resumed the start of new runs in a scope. While paused, admitted goals wait (RunQueued) instead of starting; runs already started go on. Resuming starts the goals that waited, unless another pause still covers them."""

    EVENT_TYPE: ClassVar[str] = "agentdeck.events.AdmissionSet"
    SCHEMA_VERSION: ClassVar[int] = 1

    envelope: Envelope
    """Ids, causation, tenant, producer, time and trace context."""
    scope: AdmissionScope
    """Breadth of the pause."""
    target: str
    """Tenant or agent; * for GLOBAL."""
    paused: bool
    """True holds new goals in the scope; false resumes the scope and starts the goals that waited."""
    set_by: str
    """Key id of the operator who set it."""
    reason: str
    """Why (maintenance, a drain before a deploy, an incident)."""


class ApprovalDenied(Event):
    """A human denied a pending call."""

    EVENT_TYPE: ClassVar[str] = "agentdeck.events.ApprovalDenied"
    SCHEMA_VERSION: ClassVar[int] = 1

    envelope: Envelope
    """Ids, causation, tenant, producer, time and trace context."""
    approval_id: str
    """Id of the approval request."""
    payload_hash: str
    """Arguments hash that was denied."""
    approver: str
    """Identity of the approver."""
    approver_role: str
    """Role the approver acted in."""
    comment: str | None = None
    """Why it was denied."""
    key_id: str
    """Id of the approval service key that signed."""
    signature: bytes
    """Approval service signature over (approval, payload hash, outcome, approver)."""


class ApprovalEscalated(Event):
    """A pending approval passed its escalation point and went to the next level."""

    EVENT_TYPE: ClassVar[str] = "agentdeck.events.ApprovalEscalated"
    SCHEMA_VERSION: ClassVar[int] = 1

    envelope: Envelope
    """Ids, causation, tenant, producer, time and trace context."""
    approval_id: str
    """Id of the approval request."""
    level: int
    """Escalation level reached (1 = first escalation)."""
    escalated_to: str
    """Role or person now asked to decide."""
    new_deadline: AwareDatetime
    """Deadline at the new level."""


class ApprovalExpired(Event):
    """Nobody decided before the deadline; the default outcome applies."""

    EVENT_TYPE: ClassVar[str] = "agentdeck.events.ApprovalExpired"
    SCHEMA_VERSION: ClassVar[int] = 1

    envelope: Envelope
    """Ids, causation, tenant, producer, time and trace context."""
    approval_id: str
    """Id of the approval request."""
    payload_hash: str
    """Arguments hash of the call."""
    outcome: str
    """Outcome applied (the default, normally deny)."""
    key_id: str
    """Id of the approval service key that signed."""
    signature: bytes
    """Approval service signature over (approval, payload hash, outcome)."""


class ApprovalGranted(Event):
    """A human approved a pending call."""

    EVENT_TYPE: ClassVar[str] = "agentdeck.events.ApprovalGranted"
    SCHEMA_VERSION: ClassVar[int] = 1

    envelope: Envelope
    """Ids, causation, tenant, producer, time and trace context."""
    approval_id: str
    """Id of the approval request."""
    payload_hash: str
    """Arguments hash that was approved; must match the call."""
    approver: str
    """Identity of the approver."""
    approver_role: str
    """Role the approver acted in."""
    comment: str | None = None
    """Approver comment."""
    key_id: str
    """Id of the approval service key that signed."""
    signature: bytes
    """Approval service signature over (approval, payload hash, outcome, approver)."""


class ApprovalRequested(Event):
    """A tool call waits for a human decision, bound to the exact payload that would run."""

    EVENT_TYPE: ClassVar[str] = "agentdeck.events.ApprovalRequested"
    SCHEMA_VERSION: ClassVar[int] = 1

    envelope: Envelope
    """Ids, causation, tenant, producer, time and trace context."""
    approval_id: str
    """Id of the approval request."""
    decision_id: str
    """Policy decision that required the approval."""
    tool: str
    """Tool of the call."""
    payload_hash: str
    """Arguments hash of the exact call to be approved."""
    summary: str
    """What the approver is asked to allow, in words."""
    risk_band: str
    """Risk band from the policy (low, medium, high)."""
    requested_by: str
    """Principal on whose behalf the call runs; may not approve it."""
    approver_role: str
    """Role an approver must hold."""
    quorum: int = 1
    """Approvals needed."""
    deadline: AwareDatetime
    """When the default outcome applies."""
    default_outcome: str = 'deny'
    """Outcome at the deadline if nobody decided."""


class BudgetReserved(Event):
    """The policy-checker reserved budget for a call at its maximum cost."""

    EVENT_TYPE: ClassVar[str] = "agentdeck.events.BudgetReserved"
    SCHEMA_VERSION: ClassVar[int] = 1

    envelope: Envelope
    """Ids, causation, tenant, producer, time and trace context."""
    reservation_id: str
    """Id of the reservation."""
    scope: str
    """Budget scope, e.g. tenant:acme or run:<id>."""
    amount_micros: int
    """Amount reserved, in micro-USD."""
    remaining_micros: int
    """Budget left in the scope after the reservation."""


class BudgetSettled(Event):
    """A reservation was settled at the actual cost (or released at zero)."""

    EVENT_TYPE: ClassVar[str] = "agentdeck.events.BudgetSettled"
    SCHEMA_VERSION: ClassVar[int] = 1

    envelope: Envelope
    """Ids, causation, tenant, producer, time and trace context."""
    reservation_id: str
    """Id of the reservation."""
    scope: str
    """Budget scope."""
    reserved_micros: int
    """Amount that was reserved."""
    actual_micros: int
    """Amount actually spent."""


class DeadLettered(Event):
    """A consumer could not process a message; the original bytes and the reason are kept for inspection and replay."""

    EVENT_TYPE: ClassVar[str] = "agentdeck.events.DeadLettered"
    SCHEMA_VERSION: ClassVar[int] = 1

    envelope: Envelope
    """Ids, causation, tenant, producer, time and trace context."""
    source_topic: str
    """Topic the message was read from."""
    source_partition: int
    """Partition it was read from."""
    source_offset: int
    """Offset it was read at."""
    consumer_group: str
    """Consumer group that gave up on it."""
    original_key: bytes | None = None
    """Original record key."""
    original_value: bytes | None = None
    """Original record value, verbatim (truncated to the dead-letter size limit)."""
    original_size: int
    """Size of the original value in bytes."""
    original_headers: tuple[Header, ...] = ()
    """Original record headers."""
    failure: ErrorInfo
    """Why it could not be processed."""


class GoalRejected(Event):
    """The planner refused a goal: its producer is not registered, its signature does not verify, or it asks for a tenant, agent, playbook or limits outside the producer's grant. Nothing was started."""

    EVENT_TYPE: ClassVar[str] = "agentdeck.events.GoalRejected"
    SCHEMA_VERSION: ClassVar[int] = 1

    envelope: Envelope
    """Ids and time; run_id is null (no run was started), tenant is the tenant the goal claimed, causation_id the goal's event id."""
    goal_event_id: str
    """event_id of the refused GoalSubmitted (archived beside this event)."""
    claimed_run_id: str | None = None
    """Run id the goal asked for; no run of that id was started or touched."""
    key_id: str | None = None
    """Producer key id named by the record's agentdeck-key-id header, if any."""
    producer_id: str | None = None
    """Registered producer the key belongs to; null when the key is unknown or absent."""
    registry_version: str
    """Version and digest of the producer registry that refused the goal (version@digest)."""
    failure: ErrorInfo
    """Why the goal was refused (code such as producer_unknown, signature_invalid, tenant_not_granted) and what to do."""


class GoalSubmitted(Event):
    """A producer system asked for a goal to be achieved; starts a run."""

    EVENT_TYPE: ClassVar[str] = "agentdeck.events.GoalSubmitted"
    SCHEMA_VERSION: ClassVar[int] = 2

    envelope: Envelope
    """Ids, causation, tenant, producer, time and trace context."""
    goal: str
    """What is to be achieved, in words."""
    inputs_json: str = '{}'
    """Structured inputs of the goal as a JSON object (order id, amount, ...)."""
    playbook: str | None = None
    """Playbook to run; null lets the LLM planner plan."""
    playbook_version: str | None = None
    """Pinned playbook version; null takes the active one at run start."""
    requested_by: str
    """Principal (user or system) that submitted the goal."""
    limits: RunLimits
    """Hard limits for the run."""
    data_subject: str | None = None
    """Whose personal data the goal carries (a customer id, say): the run's personal data is sealed under this subject's key and erased with it; null makes the run its own subject."""


class KillSwitchScope(StrEnum):
    """What the switch stops. A reader that does not know a symbol reads TOOL: a tool named by an unknown target stops no call, where GLOBAL would stop every call."""

    GLOBAL = "GLOBAL"
    TENANT = "TENANT"
    AGENT = "AGENT"
    TOOL = "TOOL"
    RUN = "RUN"


class KillSwitchSet(Event):
    """An operator engaged or released a kill switch. v2 adds the RUN scope (target: a run id), with which an operator cancels one run."""

    EVENT_TYPE: ClassVar[str] = "agentdeck.events.KillSwitchSet"
    SCHEMA_VERSION: ClassVar[int] = 2

    envelope: Envelope
    """Ids, causation, tenant, producer, time and trace context."""
    scope: KillSwitchScope
    """Breadth of the switch."""
    target: str
    """Tenant, agent, tool name or run id; * for GLOBAL."""
    engaged: bool
    """True stops new calls; false releases the switch. An engaged RUN switch cancels the run for good."""
    set_by: str
    """Operator who set it."""
    reason: str
    """Why."""


class LlmCallFailed(Event):
    """An attempt to ask a model failed; recorded with the backoff before the next attempt (or none: the planner gives up), so replay never calls a model, reads a clock or draws a random number."""

    EVENT_TYPE: ClassVar[str] = "agentdeck.events.LlmCallFailed"
    SCHEMA_VERSION: ClassVar[int] = 1

    envelope: Envelope
    """Ids, causation, tenant, producer, time and trace context."""
    model: str
    """Model that was asked (the fallback model when the primary's breaker was open)."""
    turn: int
    """The conversation's turn the answer was for (model calls made before it)."""
    attempt: int
    """Attempt number that failed, from 1."""
    failure: ErrorInfo
    """What broke, whether a retry helps, and the options."""
    retry_in_ms: int | None = None
    """Wait before the next attempt, jitter included; null: no attempt follows and the run fails."""
    jitter_ms: int = 0
    """The random part of retry_in_ms (may be negative)."""
    latency_ms: int = 0
    """Wall time of the attempt."""


class LlmCallRecorded(Event):
    """One chat-completions exchange with a model, recorded so that replay never calls a model."""

    EVENT_TYPE: ClassVar[str] = "agentdeck.events.LlmCallRecorded"
    SCHEMA_VERSION: ClassVar[int] = 1

    envelope: Envelope
    """Ids, causation, tenant, producer, time and trace context."""
    model: str
    """Model that answered."""
    request_hash: str
    """SHA-256 of the canonical request; the response-cache key."""
    request_json: str
    """The request (messages, tools), or a claim-check reference."""
    response_json: str
    """The response, or a claim-check reference."""
    prompt_tokens: int
    """gen_ai.usage.input_tokens."""
    completion_tokens: int
    """gen_ai.usage.output_tokens."""
    cost_micros: int
    """Cost of the call in micro-USD."""
    latency_ms: int
    """Wall time of the call."""
    cached: bool = False
    """True if the response came from the response cache."""


class PlanProposed(Event):
    """The planner produced or revised the run plan."""

    EVENT_TYPE: ClassVar[str] = "agentdeck.events.PlanProposed"
    SCHEMA_VERSION: ClassVar[int] = 1

    envelope: Envelope
    """Ids, causation, tenant, producer, time and trace context."""
    plan_version: int
    """1 for the first plan, incremented on every re-plan."""
    source: str
    """What produced the plan: playbook name@version or model name."""
    steps: tuple[PlannedStep, ...]
    """The plan as a DAG of steps."""
    rationale: str | None = None
    """Why the plan looks like this (re-plan reason, model explanation)."""


class DecisionOutcome(StrEnum):
    """ALLOW runs the call; DENY refuses it; REQUIRE_APPROVAL waits for a human."""

    ALLOW = "ALLOW"
    DENY = "DENY"
    REQUIRE_APPROVAL = "REQUIRE_APPROVAL"


class PolicyDecided(Event):
    """The policy-checker decided a tool-call request; the executor acts only on a valid signed ALLOW for exactly that call. v2 carries the call itself, so the executor needs no second topic. v3 carries the verified principal the run acts for. v4 carries the budget it held and the run spend it read (no separate BudgetReserved), so replay reproduces it from the decision and the log."""

    EVENT_TYPE: ClassVar[str] = "agentdeck.events.PolicyDecided"
    SCHEMA_VERSION: ClassVar[int] = 4

    envelope: Envelope
    """Ids, causation, tenant, producer, time and trace context."""
    decision_id: str
    """Id of the decision."""
    request_id: str
    """event_id of the ToolCallRequested decided."""
    tool: str
    """Tool of the call."""
    arguments_hash: str
    """Arguments hash of the call; the signature covers it."""
    outcome: DecisionOutcome
    """What was decided."""
    matched_policies: tuple[str, ...] = ()
    """Ids of the policies that determined the outcome."""
    reason: str
    """Why, in words a human can act on."""
    bundle_version: str
    """Version of the active policy bundle."""
    bundle_digest: str
    """SHA-256 of the bundle that decided."""
    reservation_id: str | None = None
    """Budget reservation held for the call, if any."""
    key_id: str
    """Id of the key that signed the decision."""
    signature: bytes
    """Signature over (decision, run, step, tool, arguments hash, outcome)."""
    arguments_json: str | None = None
    """Arguments of the decided call as canonical JSON; the executor checks their SHA-256 against arguments_hash."""
    idempotency_key: str | None = None
    """Effect-ledger key of the decided call; covered by the signature."""
    side_effect: SideEffect | None = None
    """Side-effect class of the tool, as the policy saw it."""
    tool_version: str | None = None
    """Contract version of the tool decided on."""
    max_cost_micros: int = 0
    """Most the call may cost (reserved), in micro-USD."""
    attempt: int = 1
    """Attempt number of the call decided on."""
    expires_at: AwareDatetime | None = None
    """After this instant the executor refuses the decision; covered by the signature."""
    approval_id: str | None = None
    """For REQUIRE_APPROVAL: the approval request that will carry the human decision."""
    principal: Principal | None = None
    """The verified producer and requester of the run, copied from the request; the signature covers it; null in decisions recorded before v3."""
    budget_scope: str | None = None
    """Budget scope the hold was taken from (e.g. tenant:acme); null when nothing was held or in decisions recorded before v4."""
    budget_remaining_micros: int | None = None
    """Budget left in the scope after the hold, in micro-USD; null when nothing was held or in decisions recorded before v4."""
    run_spent_micros: int | None = None
    """What the run had spent (settled holds) when the decision was made, in micro-USD; null in decisions recorded before v4."""


class RollbackReported(Event):
    """A rollback run ended: every call of its target runs, and whether it was undone. Emitted just before the rollback run's RunCompleted or RunCancelled."""

    EVENT_TYPE: ClassVar[str] = "agentdeck.events.RollbackReported"
    SCHEMA_VERSION: ClassVar[int] = 1

    envelope: Envelope
    """Ids, causation, tenant, producer, time and trace context; run_id is the rollback run's."""
    target_runs: tuple[str, ...]
    """Runs rolled back, the most recently finished first."""
    calls: tuple[RolledBackCall, ...]
    """Every call of the target runs: compensated ones in the order they were undone (newest first), then the others."""
    undone: int
    """Calls whose compensation completed."""
    not_undone: int
    """Calls that may have changed the world and were not undone."""


class RollbackRequested(Event):
    """An operator asked to undo what runs did: the planner starts a rollback run (the envelope's run id, derived from the targets) whose steps call the compensations of the targets' completed calls, newest first."""

    EVENT_TYPE: ClassVar[str] = "agentdeck.events.RollbackRequested"
    SCHEMA_VERSION: ClassVar[int] = 1

    envelope: Envelope
    """Ids, causation, tenant, producer, time and trace context; run_id is the rollback run's."""
    target_runs: tuple[str, ...]
    """Runs to roll back, all of the envelope's tenant."""
    requested_by: str
    """Key id of the operator who asked."""
    reason: str
    """Why, as the operator put it."""


class RunCancelled(Event):
    """An operator, a kill switch or a deadline cancelled the run."""

    EVENT_TYPE: ClassVar[str] = "agentdeck.events.RunCancelled"
    SCHEMA_VERSION: ClassVar[int] = 1

    envelope: Envelope
    """Ids, causation, tenant, producer, time and trace context."""
    reason: str
    """Why the run was cancelled."""
    cancelled_by: str
    """Principal or mechanism that cancelled it (user id, kill-switch, deadline)."""


class RunCompleted(Event):
    """The run reached its goal."""

    EVENT_TYPE: ClassVar[str] = "agentdeck.events.RunCompleted"
    SCHEMA_VERSION: ClassVar[int] = 1

    envelope: Envelope
    """Ids, causation, tenant, producer, time and trace context."""
    output_json: str = '{}'
    """Final output of the run as a JSON object."""
    steps: int
    """Steps executed."""
    tool_calls: int
    """Tool calls made, retries included."""
    tokens: int = 0
    """LLM tokens used."""
    cost_micros: int
    """Total cost in micro-USD."""


class RunDeadlineReached(Event):
    """A run's deadline came while it waited (for a call's outcome, an approval or its model). Written by the planner's timer and read by the planner, which ends the run: a durable timer, recorded so replay sees the same input."""

    EVENT_TYPE: ClassVar[str] = "agentdeck.events.RunDeadlineReached"
    SCHEMA_VERSION: ClassVar[int] = 1

    envelope: Envelope
    """Ids (the run's), tenant, agent, producer, time and trace context."""
    deadline: AwareDatetime
    """The deadline that passed (the run's limits.deadline)."""


class RunFailed(Event):
    """The run stopped without reaching its goal."""

    EVENT_TYPE: ClassVar[str] = "agentdeck.events.RunFailed"
    SCHEMA_VERSION: ClassVar[int] = 1

    envelope: Envelope
    """Ids, causation, tenant, producer, time and trace context."""
    failure: ErrorInfo
    """Why the run stopped and what can be done."""
    steps: int
    """Steps executed before the failure."""
    tool_calls: int
    """Tool calls made before the failure."""
    cost_micros: int
    """Cost incurred, in micro-USD."""


class RunQueued(Event):
    """A goal was admitted but its run waits: an operator paused new runs in its scope. The run starts (RunStarted, caused by the goal) when the scope is resumed."""

    EVENT_TYPE: ClassVar[str] = "agentdeck.events.RunQueued"
    SCHEMA_VERSION: ClassVar[int] = 1

    envelope: Envelope
    """Ids, causation (the goal), tenant, agent, producer, time and trace context."""
    scope: AdmissionScope
    """Breadth of the pause that holds the run."""
    target: str
    """Tenant or agent the pause names; * for GLOBAL."""
    paused_by: str
    """Key id of the operator who paused the scope."""


class PlannerKind(StrEnum):
    """PLAYBOOK follows a versioned SOP; LLM plans with a model."""

    PLAYBOOK = "PLAYBOOK"
    LLM = "LLM"


class RunStarted(Event):
    """The planner accepted a goal and pinned the planner or playbook version the run will use. v2 names the verified principal the run acts for."""

    EVENT_TYPE: ClassVar[str] = "agentdeck.events.RunStarted"
    SCHEMA_VERSION: ClassVar[int] = 2

    envelope: Envelope
    """Ids, causation, tenant, producer, time and trace context."""
    planner: PlannerKind
    """Which planner owns the run."""
    playbook: str | None = None
    """Playbook name, for PLAYBOOK runs."""
    pinned_version: str
    """Playbook version or model route the run is pinned to."""
    limits: RunLimits
    """Limits in force for the run."""
    principal: Principal | None = None
    """The producer whose signed goal was admitted, and who it says asked; null in runs recorded before v2."""


class StepScheduled(Event):
    """A step of the plan became ready and will be executed."""

    EVENT_TYPE: ClassVar[str] = "agentdeck.events.StepScheduled"
    SCHEMA_VERSION: ClassVar[int] = 1

    envelope: Envelope
    """Ids, causation, tenant, producer, time and trace context."""
    tool: str
    """Tool the step calls."""
    attempt: int = 1
    """1 for the first attempt, incremented on retries."""


class SubjectErased(Event):
    """A data subject's key was destroyed: their sealed personal data is unreadable everywhere (crypto-shredding)."""

    EVENT_TYPE: ClassVar[str] = "agentdeck.events.SubjectErased"
    SCHEMA_VERSION: ClassVar[int] = 1

    envelope: Envelope
    """Ids, causation, tenant, producer, time and trace context."""
    subject_key: str
    """Key id of the subject (a keyed hash of tenant and subject; never the subject itself)."""
    reason: str
    """request (a deletion request) or retention (the tenant's retention policy)."""
    policy_days: int | None = None
    """For retention: the policy's age limit in days."""
    destroyed: bool
    """True if a live key was destroyed; false if none existed (a tombstone now bars it)."""
    erased_by: str
    """Key id of the operator who erased."""


class ToolCallCompleted(Event):
    """A tool call finished and its validated, screened output is available."""

    EVENT_TYPE: ClassVar[str] = "agentdeck.events.ToolCallCompleted"
    SCHEMA_VERSION: ClassVar[int] = 1

    envelope: Envelope
    """Ids, causation, tenant, producer, time and trace context."""
    tool: str
    """Name of the tool."""
    idempotency_key: str
    """Effect-ledger key of the call."""
    output_json: str
    """Validated output as a JSON object, or a claim-check reference for large outputs."""
    output_hash: str
    """SHA-256 (hex) of the output JSON."""
    cost_micros: int = 0
    """Actual cost in micro-USD; settles the budget reservation."""
    duration_ms: int
    """Wall time of the call."""
    provenance: Provenance
    """Where the output came from."""
    screening_flags: tuple[str, ...] = ()
    """What output screening found and neutralised (pii, prompt_injection, truncated)."""


class ToolCallFailed(Event):
    """A tool call failed; the planner re-plans or escalates from the failure it carries."""

    EVENT_TYPE: ClassVar[str] = "agentdeck.events.ToolCallFailed"
    SCHEMA_VERSION: ClassVar[int] = 1

    envelope: Envelope
    """Ids, causation, tenant, producer, time and trace context."""
    tool: str
    """Name of the tool."""
    idempotency_key: str
    """Effect-ledger key of the call."""
    failure: ErrorInfo
    """What broke, whether a retry helps, and the options."""
    duration_ms: int = 0
    """Wall time until the failure."""
    attempt: int = 1
    """Attempt number that failed."""


class ToolCallRequested(Event):
    """The planner asks for a tool call; the policy-checker must decide it before anything runs. v2 names the verified principal the run acts for."""

    EVENT_TYPE: ClassVar[str] = "agentdeck.events.ToolCallRequested"
    SCHEMA_VERSION: ClassVar[int] = 2

    envelope: Envelope
    """Ids, causation, tenant, producer, time and trace context."""
    tool: str
    """Name of the tool."""
    tool_version: str | None = None
    """Contract version requested; null takes the registered one."""
    arguments_json: str
    """Resolved arguments as a JSON object."""
    arguments_hash: str
    """SHA-256 (hex) of the canonical arguments JSON; decisions and approvals are bound to it."""
    idempotency_key: str
    """Key of the effect-ledger entry; the same call always has the same key."""
    side_effect: SideEffect
    """Side-effect class of the tool."""
    max_cost_micros: int = 0
    """Most the call may cost, in micro-USD; reserved from the budget before it runs."""
    attempt: int = 1
    """1 for the first attempt, incremented on retries."""
    principal: Principal | None = None
    """The verified producer and requester of the run; null in requests recorded before v2."""


class ToolCallStarted(Event):
    """An executor recorded in its effect ledger that it is about to perform the call."""

    EVENT_TYPE: ClassVar[str] = "agentdeck.events.ToolCallStarted"
    SCHEMA_VERSION: ClassVar[int] = 1

    envelope: Envelope
    """Ids, causation, tenant, producer, time and trace context."""
    tool: str
    """Name of the tool."""
    idempotency_key: str
    """Effect-ledger key of the call."""
    decision_id: str
    """Policy decision that authorised the call."""
    executor: str
    """Executor instance that runs the call."""
    attempt: int = 1
    """Attempt number."""
