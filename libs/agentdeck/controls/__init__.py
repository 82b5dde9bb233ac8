"""Operator controls every service enforces alike: the kill-switch rules and a live view of them."""

from __future__ import annotations

from agentdeck.controls._rules import (
    GLOBAL_TARGET,
    KILL_SWITCH_ENGAGED,
    Switch,
    SwitchKey,
    applied,
    covering,
    stopped_message,
    switch_key,
    switch_of,
)
from agentdeck.controls._view import SwitchesLoading, SwitchView

__all__ = [
    "GLOBAL_TARGET",
    "KILL_SWITCH_ENGAGED",
    "Switch",
    "SwitchKey",
    "SwitchView",
    "SwitchesLoading",
    "applied",
    "covering",
    "stopped_message",
    "switch_key",
    "switch_of",
]
