"""What a decision needs besides the run's state and the event: passed in, never looked up."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any, Protocol

from agentdeck.contracts import Producer
from agentdeck.contracts.models import GoalSubmitted, SideEffect
from agentdeck.planner.core.admission import Admitted, Refused
from agentdeck.planner.core.pause import Pauses
from agentdeck.planner.core.playbook import Playbook
from agentdeck.planner.core.state import RunState
from agentdeck.planner.core.templates import Templates

__all__ = ["Context", "PlaybookSource", "ToolInfo"]


@dataclass(frozen=True)
class ToolInfo:
    """What the planner needs to know of a tool's contract."""

    version: str
    side_effect: SideEffect
    max_cost_micros: int
    description: str = ""
    parameters: Mapping[str, object] | None = None
    """JSON schema of the arguments, offered to the LLM planner."""
    compensation: str | None = None
    """The tool that undoes a completed call of this one, as its contract names it."""
    compensation_args: Callable[[Mapping[str, Any], Mapping[str, Any]], dict[str, Any]] | None = (
        None
    )
    """(a call's arguments, its output) -> the compensation's arguments (JSON);
    raises ValueError when they do not fit."""

    def __post_init__(self) -> None:
        # Requests are built from these fields without validation: hold them to their types.
        object.__setattr__(self, "side_effect", SideEffect(self.side_effect))
        if not isinstance(self.version, str) or not isinstance(self.max_cost_micros, int):
            raise TypeError(f"ToolInfo({self.version!r}, max_cost_micros={self.max_cost_micros!r})")


class PlaybookSource(Protocol):
    """Port: playbooks by name and version (None = the active version)."""

    def get(self, name: str, version: str | None) -> Playbook:
        """The playbook; raises a TerminalError if there is no such playbook or version."""
        ...


@dataclass(frozen=True)
class Context:
    """Inputs of a decision other than state and event."""

    now: datetime
    producer: Producer
    playbooks: PlaybookSource
    tools: Mapping[str, ToolInfo]
    templates: Templates
    model_for: Callable[[GoalSubmitted], str] | None = None
    """Routes a goal without a playbook to a model; None: no LLM planner configured."""
    admission: Admitted | Refused | None = None
    """How the goal being decided was authenticated (set by the handler per goal).

    None only in replay, where the recorded RunStarted shows the goal was admitted.
    """
    pauses: Pauses | None = None
    """The pauses in force when the goal being decided arrived (set by the handler).

    None in replay: a goal that waited starts as it would have on arrival.
    """
    targets: Mapping[str, RunState] = field(default_factory=dict)
    """For a rollback request: the states of the runs it names that the planner knows."""

    def __post_init__(self) -> None:
        # The events decided under this context are built from ``now`` without validation.
        if self.now.tzinfo is None:
            raise ValueError("Context.now must be timezone-aware")

    def replaced(self, **changes: Any) -> Context:
        """``dataclasses.replace(self, **changes)`` without the generated ``__init__``'s
        call per field: replay derives a context for every recorded decision."""
        if not _FIELDS.issuperset(changes):
            raise TypeError(f"Context has no fields {sorted(changes.keys() - _FIELDS)}")
        copy = object.__new__(Context)
        copy.__dict__.update(self.__dict__, **changes)  # frozen: never assigned to after
        copy.__post_init__()
        return copy


_FIELDS = frozenset(f.name for f in fields(Context))
