"""Running services: supervised consumer loops and background tasks in one process."""

from __future__ import annotations

from agentdeck.runtime._clock import Clock, utc_now
from agentdeck.runtime._runner import BackgroundTask, ServiceRunner, Subscription

__all__ = ["BackgroundTask", "Clock", "ServiceRunner", "Subscription", "utc_now"]
