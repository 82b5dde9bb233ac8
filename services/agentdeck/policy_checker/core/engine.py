"""The port to a policy engine: a loaded bundle that answers Cedar requests in batches."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from agentdeck.policy_checker.core.bundle import Bundle

__all__ = ["Answer", "PolicyEngine"]


@dataclass(frozen=True)
class Answer:
    """The engine's answer to one request.

    Attributes:
        allowed: Cedar's decision (a permit matched and no forbid did).
        policies: Ids of the policies that determined it (the matching
            forbids on a deny, the matching permits on an allow).
        errors: Policies that failed to evaluate, with why.
    """

    allowed: bool
    policies: tuple[str, ...] = ()
    errors: tuple[str, ...] = ()


class PolicyEngine(Protocol):
    """A bundle loaded into an engine; deterministic for the same requests and entities."""

    @property
    def bundle(self) -> Bundle:
        """The bundle it evaluates."""
        ...

    def authorize(
        self, requests: Sequence[Mapping[str, Any]], entities: Sequence[Mapping[str, Any]]
    ) -> list[Answer]:
        """One answer per request, in order; all requests share ``entities``."""
        ...
