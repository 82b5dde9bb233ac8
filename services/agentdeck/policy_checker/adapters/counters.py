"""Counters in hot state: calls per tenant, tool and minute; shadow-mode divergence."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime

from agentdeck.hotstate import HotState

__all__ = ["CallCounter", "ShadowCounter"]

_WINDOW_S = 60
_KEEP_S = 2 * _WINDOW_S


class CallCounter:
    """Counts calls per tenant and tool in fixed one-minute windows (one round trip per pair)."""

    def __init__(self, hot: HotState) -> None:
        self._hot = hot

    def count(self, calls: Sequence[tuple[str, str]], now: datetime) -> list[int]:
        """Record ``calls`` (tenant, tool); each one's count in its window, itself included."""
        window = int(now.timestamp()) // _WINDOW_S
        totals = Counter(calls)
        after = {
            pair: int(self._hot.incr(f"calls:{pair[0]}:{pair[1]}:{window}", n, ttl_s=_KEEP_S))
            for pair, n in totals.items()
        }
        seen: Counter[tuple[str, str]] = Counter()
        counts = []
        for pair in calls:
            seen[pair] += 1
            counts.append(after[pair] - totals[pair] + seen[pair])
        return counts


class ShadowCounter:
    """How often the candidate bundle was evaluated and how often it disagreed."""

    def __init__(self, hot: HotState, candidate_digest: str) -> None:
        self._hot = hot
        self.evaluated_key = f"policy-shadow:{candidate_digest}:evaluated"
        self.divergent_key = f"policy-shadow:{candidate_digest}:divergent"

    def add(self, evaluated: int, divergent: int) -> None:
        """Count a batch."""
        if evaluated:
            self._hot.incr(self.evaluated_key, evaluated)
        if divergent:
            self._hot.incr(self.divergent_key, divergent)

    def divergent(self) -> int:
        """Divergent decisions so far."""
        return int(self._hot.get_counter(self.divergent_key))

    def evaluated(self) -> int:
        """Shadow evaluations so far."""
        return int(self._hot.get_counter(self.evaluated_key))
