"""Operator controls every service enforces alike: the kill-switch rules and a live view of them."""

from __future__ import annotations

from agentdeck.controls._rules import (
    GLOBAL_TARGET,
    KILL_SWITCH_ENGAGED,
    RUN_CANCELLED,
    RUN_CANCELLED_POLICY,
    Switch,
    SwitchKey,
    applied,
    covering,
    covering_keys,
    refusal_code,
    stopped_message,
    switch_key,
    switch_of,
)
from agentdeck.controls._view import SwitchesLoading, SwitchView

__all__ = [
    "GLOBAL_TARGET",
    "KILL_SWITCH_ENGAGED",
    "RUN_CANCELLED",
    "RUN_CANCELLED_POLICY",
    "Switch",
    "SwitchKey",
    "SwitchView",
    "SwitchesLoading",
    "applied",
    "covering",
    "covering_keys",
    "refusal_code",
    "stopped_message",
    "switch_key",
    "switch_of",
]
