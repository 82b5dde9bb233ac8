"""The one handler shape: load the batch's state, decide (pure), save; the runtime owns the rest.

A service writes three methods (:class:`StatefulHandler`); :func:`transactional`
turns them into the consumer loop's :class:`~agentdeck.kafka.BatchHandler`
and owns what every service used to write by hand:

- the events this consumer already processed are filtered out, by event id,
  in the same read transaction that loads the state for the rest;
- the new state and the processed ids are written in one transaction, one
  per batch, so a batch is either wholly done or not at all;
- the order against the broker: by default the state commits after the
  batch's outputs are acknowledged (the loop's ``Outcome.commit``), so a crash
  before it recomputes the same outputs with the same ids. A **journaled**
  handler's state is the promise itself (a budget held, a call begun), so it
  commits before anything is published, and a redelivered event's outputs are
  re-emitted from what was saved (``replay``) rather than decided again.
  Any handler may re-emit so (:class:`Replaying`): an event that comes again
  because its sender re-drove it gets its outputs published again, same ids.

A handler whose decisions are side effects in the world (the executor's tool
calls) also writes ``act``: it performs what ``decide`` planned, each effect
recorded in the handler's own ledger before it happens, and returns the
outcome events; the batch's state still commits once they are acknowledged.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar, runtime_checkable

from sqlalchemy import Connection

from agentdeck.contracts import Event
from agentdeck.kafka import BatchHandler, Inbound, Outcome
from agentdeck.store import Store

__all__ = [
    "Acting",
    "Committed",
    "Decision",
    "Journaled",
    "Replaying",
    "StatefulHandler",
    "journaled",
    "transactional",
]

S = TypeVar("S")
L = TypeVar("L")


@dataclass(frozen=True)
class Decision(Generic[S]):
    """What a batch decided: the state to keep and the events to publish.

    Attributes:
        state: What :meth:`StatefulHandler.save` writes.
        events: The events the batch causes.
        done: The event ids to record as processed; None: every event of the batch.
            (An event left out is handed over again when it is redelivered.)
    """

    state: S
    events: Sequence[Event] = ()
    done: Collection[str] | None = None


class StatefulHandler(Protocol[L, S]):
    """A service's handling of a batch of events it has not processed before.

    ``L`` is what a batch reads, ``S`` what it writes (often the same type).
    """

    def load(self, conn: Connection, batch: Sequence[Inbound]) -> L:
        """The state ``batch`` needs, read in the runtime's read transaction."""
        ...

    def decide(self, state: L, batch: Sequence[Inbound]) -> Decision[S]:
        """The new state and the events; no durable change of its own. May raise
        ``Failure`` for a bad event."""
        ...

    def save(self, conn: Connection, decision: Decision[S]) -> None:
        """Write ``decision.state`` in the runtime's write transaction (nothing else)."""
        ...


@runtime_checkable
class Acting(Protocol):
    """A handler whose decisions are carried out in the world between deciding and saving."""

    def act(self, decision: Decision[Any]) -> Sequence[Event]:
        """Carry out ``decision`` (each effect journaled by the handler before it happens);
        the events reporting the outcomes."""
        ...


@runtime_checkable
class Committed(Protocol):
    """A handler told when a batch's state has committed (for best-effort notices after it)."""

    def committed(self, decision: Decision[Any]) -> None:
        """``decision``'s state is durable; tell whoever waits for it (never raises)."""
        ...


@runtime_checkable
class Replaying(Protocol):
    """A handler that re-emits what an event it already processed caused, when it comes again.

    A redelivered event is usually a duplicate; but when the events it caused
    were lost downstream (a broker that lost its log), its sender re-drives it,
    and only the handler that processed it can say again what came of it.
    """

    def replay(self, conn: Connection, seen: Sequence[Inbound]) -> Sequence[Event]:
        """The events already-processed ``seen`` caused, rebuilt from what was saved."""
        ...


class Journaled(StatefulHandler[L, S], Replaying, Protocol[L, S]):
    """A handler whose state must be durable before its events are published."""


def transactional(handler: StatefulHandler[L, S], *, store: Store, consumer: str) -> BatchHandler:
    """``handler`` as a loop handler; its state commits once the batch's outputs are acknowledged.

    Args:
        handler: The service's load, decide and save.
        store: Where the state and the processed ids live.
        consumer: The name processed ids are kept under (the loop's group).
    """
    return _Transactional(handler, store, consumer, None)


def journaled(handler: Journaled[L, S], *, store: Store, consumer: str) -> BatchHandler:
    """``handler`` as a loop handler; its state commits before the batch's outputs are published.

    A redelivered event this consumer already processed is not decided again:
    its outputs are rebuilt by ``handler.replay`` and published again (same ids).
    """
    return _Transactional(handler, store, consumer, handler)


@dataclass(frozen=True)
class _Transactional(Generic[L, S]):
    handler: StatefulHandler[L, S]
    store: Store
    consumer: str
    journal: Journaled[L, S] | None

    def __call__(self, batch: Sequence[Inbound]) -> Outcome:
        handler, store, journal = self.handler, self.store, self.journal
        ids = [item.event.envelope.event_id for item in batch]
        with store.transaction(read_only=True) as conn:
            new = store.processed.filter_new(conn, self.consumer, ids)
            fresh = [item for item in batch if item.event.envelope.event_id in new]
            seen = [item for item in batch if item.event.envelope.event_id not in new]
            replayer = journal or (handler if isinstance(handler, Replaying) else None)
            again = list(replayer.replay(conn, seen)) if replayer is not None and seen else []
            if not fresh:
                return Outcome(again)
            state = handler.load(conn, fresh)
        decision = handler.decide(state, fresh)
        acted = list(handler.act(decision)) if isinstance(handler, Acting) else []
        events = [*decision.events, *acted]
        done = (
            [i.event.envelope.event_id for i in fresh] if decision.done is None else decision.done
        )
        if not done and not events:
            return Outcome(again)  # nothing processed, nothing caused: nothing to save
        told = handler if isinstance(handler, Committed) else None

        def commit() -> None:
            with store.transaction() as conn:
                handler.save(conn, decision)
                store.processed.mark(conn, self.consumer, done)
            if told is not None:
                told.committed(decision)

        if journal is not None:
            commit()  # durable first: what is published next is already promised
            return Outcome([*again, *events])
        return Outcome([*again, *events], commit)
