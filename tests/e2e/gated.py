"""A platform whose desk can hold a refund inside the tool, to set a scene around the executor.

A refund whose reason is :data:`HOLD` blocks inside the desk (the system of
record) until the test opens the gate, holding the executor's batch: calls
decided meanwhile are allowed but not yet run. The executor's live view of the
kill switches, and the approval service's, are handed out so a test can see when a
switch reached each.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sqlalchemy import Engine

from agentdeck.approval import client
from agentdeck.cli.submit import publish_goal
from agentdeck.contracts import models as m
from agentdeck.controls import SwitchKey, SwitchView
from agentdeck.demo.sql_desk import SqlDesk
from agentdeck.embedded_stack.goals import goal_event

from .conftest import Platform, running_platform

HOLD = "hold the desk"
GATE_S = 8.0
"""Longest a held refund waits (create_refund's timeout is 10 s)."""


@dataclass
class Gate:
    """Holds the desk's refunds whose reason is ``HOLD`` until opened."""

    entered: threading.Event = field(default_factory=threading.Event)
    opened: threading.Event = field(default_factory=threading.Event)


@dataclass
class Gated:
    """The platform, the desk's gate, and the executor's view of the switches."""

    platform: Platform
    gate: Gate
    executor_switches: SwitchView
    approval_switches: SwitchView


@contextlib.contextmanager
def gated_platform(bootstrap_servers: str, pg_admin: Engine, root: Path) -> Iterator[Gated]:
    """A running platform with the gated desk; the executor has read the control topic."""
    gate = Gate()
    views: dict[str, list[SwitchView]] = {"executor": [], "approval": []}

    class GatedDesk(SqlDesk):
        def create_refund(self, order_id: str, amount_cents: int, reason: str, *, key: str):  # type: ignore[no-untyped-def]
            if reason == HOLD:
                gate.entered.set()
                gate.opened.wait(GATE_S)
            return super().create_refund(order_id, amount_cents, reason, key=key)

    def view_of(service: str):  # type: ignore[no-untyped-def]
        def made() -> SwitchView:
            views[service].append(SwitchView())
            return views[service][-1]

        return made

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("agentdeck.cli.services.SqlDesk", GatedDesk)
        patch.setattr("agentdeck.tool_executor.main.SwitchView", view_of("executor"))
        patch.setattr("agentdeck.approval.main.SwitchView", view_of("approval"))
        with running_platform(bootstrap_servers, pg_admin, root) as platform:
            [executor], [approval] = views["executor"], views["approval"]
            assert executor.wait_caught_up(timeout_s=60), "the executor read the control topic"
            assert approval.wait_caught_up(timeout_s=60), "approval read the control topic"
            yield Gated(platform, gate, executor, approval)


def submit_refund(platform: Platform, run_id: str, *, order: str, cents: int, reason: str) -> str:
    """Start a refund-order run of tenant acme; its id."""
    event = goal_event(
        goal="refund",
        playbook="refund-order",
        inputs={"order_id": order, "amount_cents": cents, "reason": reason},
        tenant="acme",
        run_id=run_id,
        requested_by="crm",
        limits=m.RunLimits(),
    )
    publish_goal(platform.info, event)
    return run_id


def run_events(platform: Platform, run_id: str) -> list[m.Event]:
    """The run's archived events, opened."""
    codec = platform.codec()
    store = platform.stack.store
    with store.transaction(read_only=True) as conn:
        return [codec.decode(a.payload) for a in store.archive.read_run(conn, run_id)]


def pending_approval(platform: Platform, run_id: str) -> str | None:
    """The id of the run's approval alice may decide, if one is pending."""
    views = client.list_pending(platform.info.approval_url, platform.token("alice"))
    return next((v.approval_id for v in views if v.run_id == run_id), None)


def allowed(platform: Platform, run_id: str, tool: str) -> bool:
    """Whether the policy-checker allowed a call of ``tool`` in the run."""
    return any(
        isinstance(e, m.PolicyDecided) and e.tool == tool and e.outcome is m.DecisionOutcome.ALLOW
        for e in run_events(platform, run_id)
    )


def wait_applied(view: SwitchView, key: SwitchKey, *, within_s: float, what: str) -> None:
    """Fail unless ``view`` applies the switch ``key`` within ``within_s``."""
    deadline = time.monotonic() + within_s
    while view.applied_at(key) is None:
        assert time.monotonic() < deadline, f"{what} did not see {key} within {within_s} s"
        time.sleep(0.005)
