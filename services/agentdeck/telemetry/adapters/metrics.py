"""Reading the weekly metrics and the cost breakdown back from the archive."""

from __future__ import annotations

from datetime import datetime

from agentdeck.contracts import Codec, DecodeError, Event
from agentdeck.store import Store
from agentdeck.telemetry.adapters.runs import RunsRepository
from agentdeck.telemetry.core import (
    CostBreakdown,
    WeeklyMetrics,
    cost_breakdown,
    facts_of,
    weekly_metrics,
)
from agentdeck.telemetry.core.runs import RunStatus

__all__ = ["report_since"]

_STATUSES = (
    RunStatus.COMPLETED,
    RunStatus.FAILED,
    RunStatus.CANCELLED,
    RunStatus.RUNNING,
    RunStatus.WAITING_APPROVAL,
)


def report_since(
    store: Store, codec: Codec, since: datetime, *, limit: int = 10_000
) -> tuple[WeeklyMetrics, CostBreakdown]:
    """The five weekly metrics (finished runs) and the costs (all runs) since ``since``."""
    facts = []
    spent: list[Event] = []
    with store.transaction(read_only=True) as conn:
        for status in _STATUSES:
            for run in RunsRepository().list_runs(conn, status=status, limit=limit):
                if run.started_at < since:
                    continue
                events = []
                for archived in store.archive.read_run(conn, run.run_id):
                    try:
                        events.append(codec.decode(archived.payload))
                    except DecodeError:
                        continue  # archived under a schema this process does not know
                spent += events
                fact = facts_of(events)
                if fact is not None:
                    facts.append(fact)
    return weekly_metrics(facts), cost_breakdown(spent)
