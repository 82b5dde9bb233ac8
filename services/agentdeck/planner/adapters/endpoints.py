"""The model endpoints the planner asks: a primary and a fallback, each behind a circuit breaker.

A breaker counts consecutive failures of its endpoint that a retry may cure
(5xx, 429, timeouts, no connection); at the threshold it opens and the
fallback is asked instead, until a half-open trial call finds the primary
back. A refusal (4xx) is no sign of an outage and closes nothing. Breakers
live in this process: they only steer which model is asked, and every
attempt's outcome is recorded as an event, so replay never needs them.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from agentdeck.breaker import Breaker, BreakerConfig, admit, record, retry_after_s
from agentdeck.errors import Failure
from agentdeck.planner.adapters.model import ModelPort, ModelUnavailable
from agentdeck.runtime import Clock

__all__ = ["Attempt", "Endpoint", "Endpoints"]


@dataclass(frozen=True)
class Endpoint:
    """One model to ask: where, and under which model name (None: the run's own)."""

    name: str
    port: ModelPort
    model: str | None = None


class Endpoints:
    """The primary endpoint and an optional fallback, with one breaker each."""

    def __init__(
        self,
        primary: Endpoint,
        fallback: Endpoint | None = None,
        *,
        breaker: BreakerConfig,
        clock: Clock,
    ) -> None:
        self._order = [primary] if fallback is None else [primary, fallback]
        self._config = breaker
        self._clock = clock
        self._breakers = {e.name: Breaker() for e in self._order}
        self._lock = threading.Lock()

    def attempt(self) -> Attempt:
        """A port for one attempt: it asks the first endpoint whose breaker admits the call."""
        return Attempt(self)

    def choose(self) -> tuple[Endpoint | None, float]:
        """The endpoint to ask now, or None and the seconds until a breaker admits a trial."""
        now = self._clock()
        with self._lock:
            for endpoint in self._order:
                self._breakers[endpoint.name], admitted = admit(
                    self._breakers[endpoint.name], self._config, now
                )
                if admitted:
                    return endpoint, 0.0
            return None, min(retry_after_s(b, self._config, now) for b in self._breakers.values())

    def record(self, endpoint: Endpoint, *, ok: bool) -> None:
        """The outcome of a call ``endpoint`` was admitted for."""
        now = self._clock()
        with self._lock:
            self._breakers[endpoint.name] = record(
                self._breakers[endpoint.name], self._config, now, ok=ok
            )

    def breaker(self, name: str) -> Breaker:
        """The breaker of endpoint ``name`` as it stands."""
        with self._lock:
            return self._breakers[name]


class Attempt:
    """One attempt's :class:`ModelPort`: remembers which model it asked, and any wait it met."""

    def __init__(self, endpoints: Endpoints) -> None:
        self._endpoints = endpoints
        self.model = ""
        self.wait_s = 0.0

    def complete(self, request: dict[str, Any]) -> dict[str, Any]:
        """Ask the admitted endpoint; every breaker open raises ``model_circuit_open``."""
        self.model = str(request.get("model", ""))
        endpoint, self.wait_s = self._endpoints.choose()
        if endpoint is None:
            raise ModelUnavailable(
                "every model endpoint's circuit breaker is open",
                code="model_circuit_open",
                retry_after_s=self.wait_s,
            )
        if endpoint.model is not None:
            request = {**request, "model": endpoint.model}
            self.model = endpoint.model
        try:
            answer = endpoint.port.complete(request)
        except Failure as exc:
            self._endpoints.record(endpoint, ok=not exc.retryable)
            raise
        except Exception:
            self._endpoints.record(endpoint, ok=False)
            raise
        self._endpoints.record(endpoint, ok=True)
        return answer
