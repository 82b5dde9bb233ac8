"""Percentiles, computed one way for us, the floor and the peers alike."""

from __future__ import annotations

import statistics
from collections.abc import Sequence

__all__ = ["percentiles"]


def percentiles(values: Sequence[float], scale: float = 1000.0) -> dict[str, float]:
    """p50 (median) and p95 (nearest rank) of ``values``, times ``scale`` (seconds to ms)."""
    ordered = sorted(values)
    p95 = ordered[max(0, round(len(ordered) * 0.95) - 1)]
    return {"p50": statistics.median(ordered) * scale, "p95": p95 * scale}
