"""Reading the weekly metrics back from the archive."""

from __future__ import annotations

from datetime import datetime

from agentdeck.contracts import Codec, DecodeError
from agentdeck.store import RunStatus, Store
from agentdeck.telemetry.core import WeeklyMetrics, facts_of, weekly_metrics

__all__ = ["metrics_since"]

_FINISHED = (RunStatus.COMPLETED, RunStatus.FAILED, RunStatus.CANCELLED)


def metrics_since(
    store: Store, codec: Codec, since: datetime, *, limit: int = 10_000
) -> WeeklyMetrics:
    """The weekly metrics over the runs finished since ``since``, from their archived events."""
    facts = []
    with store.transaction(read_only=True) as conn:
        for status in _FINISHED:
            for run in store.runs.list_runs(conn, status=status, limit=limit):
                if run.started_at < since:
                    continue
                events = []
                for archived in store.archive.read_run(conn, run.run_id):
                    try:
                        events.append(codec.decode(archived.payload))
                    except DecodeError:
                        continue  # archived under a schema this process does not know
                fact = facts_of(events)
                if fact is not None:
                    facts.append(fact)
    return weekly_metrics(facts)
