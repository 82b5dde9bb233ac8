"""Running services: supervised consumer loops and background tasks in one process."""

from __future__ import annotations

from agentdeck.runtime._clock import Clock, utc_now
from agentdeck.runtime._controls import follow_switches
from agentdeck.runtime._outbox import Republisher, StoreOutbox, outbox_for, publisher_for
from agentdeck.runtime._runner import BackgroundTask, ServiceRunner, Subscription
from agentdeck.runtime._serve import Resources, serve
from agentdeck.runtime._stateful import (
    Acting,
    Committed,
    Decision,
    Journaled,
    Replaying,
    StatefulHandler,
    journaled,
    transactional,
)
from agentdeck.runtime._ticking import ticking

__all__ = [
    "Acting",
    "BackgroundTask",
    "Clock",
    "Committed",
    "Decision",
    "Journaled",
    "Replaying",
    "Republisher",
    "Resources",
    "ServiceRunner",
    "StatefulHandler",
    "StoreOutbox",
    "Subscription",
    "follow_switches",
    "journaled",
    "outbox_for",
    "publisher_for",
    "serve",
    "ticking",
    "transactional",
    "utc_now",
]
