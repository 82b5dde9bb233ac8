"""The demo ``agentdeck up`` runs: four support-desk goals with four different outcomes."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass

from agentdeck.contracts import Codec
from agentdeck.contracts.models import GoalSubmitted, RunLimits
from agentdeck.embedded_stack.goals import goal_event
from agentdeck.store import Store
from agentdeck.telemetry.adapters.runs import RunsRepository
from agentdeck.telemetry.core.runs import RunRecord, RunStatus

__all__ = ["DEMO_GOALS", "DemoGoal", "demo_events", "wait_for_outcomes"]

SETTLED = {RunStatus.COMPLETED, RunStatus.FAILED, RunStatus.CANCELLED, RunStatus.WAITING_APPROVAL}


@dataclass(frozen=True)
class DemoGoal:
    """One demo goal and the outcome it is meant to show."""

    key: str
    goal: str
    playbook: str | None
    inputs: dict[str, object]
    expected: str


DEMO_GOALS = (
    DemoGoal(
        "auto",
        "Refund $30.00 on order 1042",
        "refund-order",
        {"order_id": "1042", "amount_cents": 3000, "reason": "late delivery"},
        "completes: a $30 refund is under the $50 auto-approve limit",
    ),
    DemoGoal(
        "approval",
        "Refund $230.00 on order 2077",
        "refund-order",
        {"order_id": "2077", "amount_cents": 23000, "reason": "damaged item"},
        "waits for a support lead: refunds up to $500 need approval",
    ),
    DemoGoal(
        "denied",
        "Refund $900.00 on order 3001",
        "refund-order",
        {"order_id": "3001", "amount_cents": 90000, "reason": "changed mind"},
        "policy denies refunds above $500; the run re-plans to a human hand-over",
    ),
    DemoGoal(
        "llm",
        "Tell the customer where order 1042 is",
        None,
        {"order_id": "1042"},
        "planned by the (scripted) model: looks the order up and drafts a note",
    ),
)


def demo_events(tenant: str, suffix: str) -> list[tuple[DemoGoal, GoalSubmitted]]:
    """The demo's goals as events, with run ids ``demo-<key>-<suffix>``."""
    return [
        (
            g,
            goal_event(
                goal=g.goal,
                playbook=g.playbook,
                inputs=g.inputs,
                tenant=tenant,
                run_id=f"demo-{g.key}-{suffix}",
                requested_by="crm",
                limits=RunLimits(),
            ),
        )
        for g in DEMO_GOALS
    ]


def wait_for_outcomes(
    store: Store,
    run_ids: list[str],
    *,
    timeout_s: float,
    on_change: Callable[[dict[str, RunRecord]], None] | None = None,
) -> dict[str, RunRecord]:
    """Poll until every run settled (or waits for a human).

    Telemetry writes the runs projection in the transaction that archives the
    events, so a settled run's settling event is in the archive too.
    """
    deadline = time.monotonic() + timeout_s
    seen: dict[str, RunRecord] = {}
    while time.monotonic() < deadline:
        with store.transaction(read_only=True) as conn:
            current = RunsRepository().get_many(conn, run_ids)
            settled = len(current) == len(run_ids) and all(
                rec.status in SETTLED for rec in current.values()
            )
        if on_change is not None and current != seen:
            on_change(current)
        seen = current
        if settled:
            break
        time.sleep(0.2)
    return seen


def output_of(
    store: Store, run_id: str, *, wait_s: float = 10.0, codec: Codec | None = None
) -> dict[str, object]:
    """A completed run's output, from its RunCompleted event in the archive.

    Waits up to ``wait_s`` for the event (a run still going has none yet);
    empty if it never arrives. The output is personal data: ``codec`` opens it.
    """
    from agentdeck.contracts import default_codec  # noqa: PLC0415
    from agentdeck.contracts.models import RunCompleted  # noqa: PLC0415

    codec = codec or default_codec()
    deadline = time.monotonic() + wait_s
    while True:
        with store.transaction(read_only=True) as conn:
            for archived in store.archive.read_run(conn, run_id):
                if archived.event_type == RunCompleted.EVENT_TYPE:
                    event = codec.decode(archived.payload)
                    if isinstance(event, RunCompleted):
                        loaded: dict[str, object] = json.loads(event.output_json)
                        return loaded
        if time.monotonic() >= deadline:
            return {}
        time.sleep(0.1)
