"""Telemetry's pure core: archive records from received events, and the weekly metrics."""

from __future__ import annotations

from agentdeck.telemetry.core.archive import archive_record
from agentdeck.telemetry.core.costs import CostBreakdown, cost_breakdown
from agentdeck.telemetry.core.metrics import RunFacts, WeeklyMetrics, facts_of, weekly_metrics

__all__ = [
    "CostBreakdown",
    "RunFacts",
    "WeeklyMetrics",
    "archive_record",
    "cost_breakdown",
    "facts_of",
    "weekly_metrics",
]
