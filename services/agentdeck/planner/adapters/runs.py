"""Run states in the planner's ``planner_runs`` table, sealed, with a cache of the last ones."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import Connection

from agentdeck.contracts import FieldCipher
from agentdeck.planner.adapters.records import RunStatesTable
from agentdeck.planner.core import RunState
from agentdeck.planner.core.redrive import wake_at
from agentdeck.privacy import AtRest
from agentdeck.store import Store

__all__ = ["PreparedRuns", "RunStates"]

_STATE_PATH = "planner.state"


@dataclass(frozen=True)
class PreparedRuns:
    """Run states ready to save: their stored (sealed) texts."""

    states: dict[str, RunState]
    texts: dict[str, str]


class RunStates:
    """Loads and saves run states (telemetry keeps the runs projection, from the events).

    The store is the truth. What was parsed or written last for a run is
    remembered with its exact JSON, so a load whose stored text is unchanged
    returns the same (immutable) state without parsing it again; any other
    text, written by a replica say, is parsed as usual.
    """

    def __init__(
        self,
        store: Store,
        *,
        remembered: int = 10_000,
        cipher: FieldCipher | None = None,
        redrive_after: timedelta = timedelta(seconds=60),
    ) -> None:
        self._store = store
        self._redrive_after = redrive_after
        self._table = RunStatesTable()
        self._at_rest = AtRest(cipher)
        self._remembered = remembered
        self._known: OrderedDict[str, tuple[str, RunState]] = OrderedDict()

    def load(self, conn: Connection, run_ids: Collection[str]) -> dict[str, RunState]:
        """The states of the runs that exist."""
        texts = self._table.get_many(conn, run_ids)
        parsed = {k: self._parsed(k, text) for k, text in texts.items()}
        return {k: state for k, state in parsed.items() if state is not None}

    def _parsed(self, run_id: str, text: str) -> RunState | None:
        known = self._known.get(run_id)
        if known is not None and known[0] == text:
            return known[1]
        clear = self._at_rest.open(text, record_id=run_id, path=_STATE_PATH)
        if clear is None:
            return None  # its subject was erased: the run's state is gone with its data
        state = RunState.model_validate_json(clear)
        self._remember(run_id, text, state)
        return state

    def _remember(self, run_id: str, text: str, state: RunState) -> None:
        self._known[run_id] = (text, state)
        self._known.move_to_end(run_id)
        while len(self._known) > self._remembered:
            self._known.popitem(last=False)

    def prepare(self, states: Mapping[str, RunState]) -> PreparedRuns:
        """What :meth:`save` writes, sealed: call it before opening the write transaction.

        Sealing may read the key store, and SQLite admits one writer at a time.
        """
        texts = {k: self._sealed(s, s.model_dump_json(), _STATE_PATH) for k, s in states.items()}
        return PreparedRuns(dict(states), texts)

    def save(self, conn: Connection, prepared: PreparedRuns) -> None:
        """Write the prepared states in the caller's transaction."""
        self._table.put_many(
            conn,
            [
                (
                    k,
                    text,
                    state.updated_at,
                    wake_at(state, self._redrive_after),
                    state.ended_with.envelope.event_id if state.ended_with else None,
                )
                for k, text in prepared.texts.items()
                if (state := prepared.states[k])
            ],
        )
        for run_id, text in prepared.texts.items():
            self._remember(run_id, text, prepared.states[run_id])

    def _sealed(self, state: RunState, text: str, path: str) -> str:
        """``text`` sealed under the run's subject key (the run's id stands in for an event's)."""
        return self._at_rest.seal(
            text, tenant=state.tenant, run_id=state.run_id, record_id=state.run_id, path=path
        )
