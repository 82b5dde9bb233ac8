"""Re-deciding a run's recorded tool-call requests, and checking the recorded decisions.

Each recorded ``ToolCallRequested`` is decided again by the service's own pure
code (``gather``, the policies, the platform guards, ``draft``, ``record_for``,
``events_for``) with the bundle that decided it (found by the digest its
``PolicyDecided`` carries) and the inputs the log holds: the request, the tool
contracts, the decision's clock reading, the budget that remained after its
hold and the run's spend it read. Since PolicyDecided v4 the decision
carries both (``budget_remaining_micros``, ``run_spent_micros``), and the spend
must be no more than the run's completed calls and model calls
(``LlmCallRecorded``) logged before the decision cost; in runs recorded
before, they come from ``BudgetReserved`` and from the ``BudgetSettled``
events before the decision. The result must equal the
recorded ``PolicyDecided`` field by field (for a decision written under an
older schema version: the fields that version has) and the recorded signature
must verify with the policy public key.

Not in the log: the tenant's calls in the current rate window, kill switches,
and a budget a refused hold found. These only ever turn a call into DENY (the
platform guards, and the demo bundle's forbids), so they are taken as neutral
(as the backtest does; :data:`core.NEUTRAL_BUDGET`), and a recorded DENY whose
extra rules only that state can explain is reported as unconfirmed, not as a
divergence. Whatever else differs (another outcome, reason, rule, id or field)
is a divergence.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from agentdeck.contracts import Event, SchemaRegistry
from agentdeck.contracts import models as m
from agentdeck.policy_checker import core
from agentdeck.signing import Verifier, decision_signature_problem

__all__ = ["DecisionDivergence", "PolicyVerification", "verify_decisions"]

_NOT_COMPARED = {"envelope", "signature", "key_id"}
_ENVELOPE = ("event_id", "run_id", "step_id", "causation_id", "tenant", "agent")


@dataclass(frozen=True)
class DecisionDivergence:
    """The first recorded decision the log's inputs do not reproduce."""

    request: m.ToolCallRequested | None
    recorded: m.PolicyDecided
    problem: str

    def describe(self) -> str:
        """One paragraph: which decision, of which request, and what is wrong with it."""
        env = self.recorded.envelope
        return (
            f"PolicyDecided {env.event_id} for ToolCallRequested {self.recorded.request_id} "
            f"(step {env.step_id or '-'}, {self.recorded.tool}): {self.problem}"
        )


@dataclass(frozen=True)
class PolicyVerification:
    """How many decisions were checked, which DENYs could not be confirmed, the divergence."""

    decisions: int
    signatures_checked: bool
    unconfirmed: list[str] = field(default_factory=list)
    divergence: DecisionDivergence | None = None


class _Unsigned:
    """Stands in for the private key replay does not have: signatures are checked separately."""

    def __init__(self, key_id: str) -> None:
        self.key_id = key_id

    def sign(self, data: bytes) -> bytes:  # noqa: ARG002 -- the signature is not compared
        return b""


def verify_decisions(
    events: Sequence[Event],
    *,
    engines: Mapping[str, core.PolicyEngine],
    catalog: core.Catalog,
    verifier: Verifier | None,
    registry: SchemaRegistry,
) -> PolicyVerification:
    """Re-decide every recorded request of ``events`` (one run, in log order).

    Args:
        events: The run's events.
        engines: The bundles the auditor holds, by digest.
        catalog: The tool contracts.
        verifier: The policy-checker's public keys; None checks no signature.
        registry: The schemas, to know which fields an older decision has.
    """
    requests = {e.envelope.event_id: e for e in events if isinstance(e, m.ToolCallRequested)}
    decisions = [e for e in events if isinstance(e, m.PolicyDecided)]
    inputs = _Inputs(events)
    unconfirmed: list[str] = []
    for recorded in decisions:
        request = requests.get(recorded.request_id)
        problem = _signature_problem(recorded, verifier) or _bundle_problem(recorded, engines)
        if request is None:
            problem = problem or f"the request it decides ({recorded.request_id}) is not in the log"
        elif problem is None:
            engine = engines[recorded.bundle_digest]
            replayed = inputs.redecide(request, recorded, engine, catalog)
            diffs = _differences(replayed, recorded, registry)
            held = inputs.hold_of(recorded) is not None
            if diffs and _rests_on_unlogged_state(recorded, replayed, held=held):
                unconfirmed.append(_unconfirmed(recorded, replayed))
                continue
            problem = _explain(diffs) if diffs else inputs.spend_problem(request, recorded)
        if problem is not None:
            divergence = DecisionDivergence(request, recorded, problem)
            return PolicyVerification(len(decisions), verifier is not None, unconfirmed, divergence)
    return PolicyVerification(len(decisions), verifier is not None, unconfirmed)


class _Inputs:
    """What the log says about the state a decision read."""

    def __init__(self, events: Sequence[Event]) -> None:
        self.reserved = {e.reservation_id: e for e in events if isinstance(e, m.BudgetReserved)}
        self.settled = [e for e in events if isinstance(e, m.BudgetSettled)]
        # What a run spends: its completed calls, and its model calls (charged as they are).
        self.costs = [e for e in events if isinstance(e, m.ToolCallCompleted | m.LlmCallRecorded)]

    def hold_of(self, recorded: m.PolicyDecided) -> tuple[int, int] | None:
        """The budget left after ``recorded``'s hold and the amount held; None: none held."""
        if recorded.budget_remaining_micros is not None:  # v4: the decision carries it
            return recorded.budget_remaining_micros, recorded.max_cost_micros
        hold = self.reserved.get(recorded.reservation_id or "")
        return None if hold is None else (hold.remaining_micros, hold.amount_micros)

    def spent(self, request: m.ToolCallRequested, recorded: m.PolicyDecided) -> int:
        """The run's spend ``recorded`` read (settled calls, and charged model calls)."""
        if recorded.run_spent_micros is not None:  # v4: the decision carries it
            return recorded.run_spent_micros
        decided_at = recorded.envelope.occurred_at
        return sum(
            s.actual_micros
            for s in self.settled
            if s.envelope.run_id == request.envelope.run_id and s.envelope.occurred_at < decided_at
        )

    def spend_problem(self, request: m.ToolCallRequested, recorded: m.PolicyDecided) -> str | None:
        """Why the run spend a v4 decision says it read is more than the log shows spent."""
        said = recorded.run_spent_micros
        if said is None:
            return None
        logged = sum(
            c.cost_micros
            for c in self.costs
            if c.envelope.run_id == request.envelope.run_id
            and c.envelope.occurred_at <= recorded.envelope.occurred_at
        )
        if said <= logged:
            return None
        return (
            f"it read a run spend of {said} micro-USD, but the run's calls and model calls"
            f" before it cost {logged}"
        )

    def redecide(
        self,
        request: m.ToolCallRequested,
        recorded: m.PolicyDecided,
        engine: core.PolicyEngine,
        catalog: core.Catalog,
    ) -> m.PolicyDecided:
        """The decision ``engine`` makes on ``request`` with the recorded inputs."""
        decided_at = recorded.envelope.occurred_at
        hold = self.hold_of(recorded)
        budget = core.NEUTRAL_BUDGET
        if hold is not None:
            before = hold[0] + hold[1]
            budget = core.BudgetView(exists=True, limit_micros=before, remaining_micros=before)
        snapshot = core.Snapshot(
            budgets={core.tenant_scope(request.envelope.tenant): budget},
            run_spend={request.envelope.run_id or "": self.spent(request, recorded)},
        )
        facts, draft = core.pipeline(engine, [request], catalog, snapshot, [1])[0]
        held = None if hold is None else core.HoldOutcome(True, hold[0])
        record = core.record_for(
            draft,
            facts,
            engine.bundle,
            outcome=held,
            decided_at=decided_at,
            ttls=_ttls(recorded),
        )
        identity = recorded.envelope.producer
        out = core.events_for(record, request, identity=identity, key=_Unsigned(recorded.key_id))
        return next(e for e in out if isinstance(e, m.PolicyDecided))


def _ttls(recorded: m.PolicyDecided) -> core.Ttls:
    # How long a decision stays valid is deployment configuration, not policy:
    # take it from the record (the signature covers the expiry).
    expires = recorded.expires_at
    ttl = expires - recorded.envelope.occurred_at if expires is not None else timedelta(0)
    return core.Ttls(allow=ttl, approval=ttl)


def _signature_problem(recorded: m.PolicyDecided, verifier: Verifier | None) -> str | None:
    problem = None if verifier is None else decision_signature_problem(recorded, verifier)
    if problem is None:
        return None
    return (
        f"its signature does not verify with the policy key {recorded.key_id!r}"
        f" ({problem.replace('_', ' ')})"
    )


def _bundle_problem(
    recorded: m.PolicyDecided, engines: Mapping[str, core.PolicyEngine]
) -> str | None:
    if recorded.bundle_digest in engines:
        return None
    have = ", ".join(f"{e.bundle.version} ({d[:12]})" for d, e in engines.items()) or "none"
    return (
        f"it was decided by bundle {recorded.bundle_version} ({recorded.bundle_digest[:12]}), "
        f"which is not among the bundles given (have: {have})"
    )


def _fields(decision: m.PolicyDecided, registry: SchemaRegistry) -> list[str]:
    """The fields the decision's writer schema has (an older version has fewer)."""
    env = decision.envelope
    writer = registry.get(env.event_type, env.schema_version)
    return [f["name"] for f in writer.parsed["fields"] if f["name"] not in _NOT_COMPARED]


def _differences(
    replayed: m.PolicyDecided, recorded: m.PolicyDecided, registry: SchemaRegistry
) -> dict[str, tuple[Any, Any]]:
    """Recorded and replayed value of each field that differs (of the fields recorded)."""
    diffs: dict[str, tuple[Any, Any]] = {}
    for name in _fields(recorded, registry):
        if getattr(replayed, name) != getattr(recorded, name):
            diffs[name] = (getattr(recorded, name), getattr(replayed, name))
    for name in _ENVELOPE:
        want, got = getattr(recorded.envelope, name), getattr(replayed.envelope, name)
        if want != got:
            diffs[f"envelope.{name}"] = (want, got)
    return diffs


def _explain(diffs: dict[str, tuple[Any, Any]]) -> str:
    return "; ".join(
        f"{name}: recorded {_text(want)}, replay decides {_text(got)}"
        for name, (want, got) in diffs.items()
    )


def _text(value: Any) -> str:
    return repr(value.value if isinstance(value, m.DecisionOutcome) else value)


def _rests_on_unlogged_state(
    recorded: m.PolicyDecided, replayed: m.PolicyDecided, *, held: bool
) -> bool:
    """A recorded DENY whose extra matched rules only state outside the log can explain.

    That state only adds refusals, so the replayed decision must be less
    restrictive and match no rule the recorded one did not: either not a DENY,
    or a DENY for a strict subset of the recorded rules. Without a recorded
    hold, a replayed refusal of the hold is no rule either: the budget the hold
    found is not in the log.
    """
    if recorded.outcome is not m.DecisionOutcome.DENY:
        return False
    want, got = set(recorded.matched_policies), set(replayed.matched_policies)
    if not held:
        got.discard(core.BUDGET)
    if want == got:
        return False
    return replayed.outcome is not m.DecisionOutcome.DENY or got < want


def _unconfirmed(recorded: m.PolicyDecided, replayed: m.PolicyDecided) -> str:
    return (
        f"DENY {recorded.envelope.event_id} ({', '.join(recorded.matched_policies)}) rests on "
        f"state the log does not hold (the log's inputs give {replayed.outcome.value})"
    )
