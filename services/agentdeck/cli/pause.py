"""``agentdeck pause``, ``resume`` and ``drain``: hold new runs in a scope, start them again, or
hold them and wait for the running work to end (before a deploy, say).

A pause is an operator-signed AdmissionSet on the control topic. The planner
applies it: goals admitted in the scope wait (RunQueued, status ``queued``)
instead of starting; runs already started go on. Resuming starts the goals
that waited, oldest first, unless another pause still covers them.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.console import Console

from agentdeck.cli.producer import operator_signer
from agentdeck.cli.settings import CliSettings
from agentdeck.cli.stackfile import StackInfo, locate
from agentdeck.cli.submit import publish
from agentdeck.contracts import Producer, deterministic_id, envelope_for
from agentdeck.contracts.models import AdmissionScope, AdmissionSet
from agentdeck.errors import ConfigError
from agentdeck.planner.adapters.pauses import PausedAdmission
from agentdeck.planner.core.pause import ANY_TARGET, ScopeKey
from agentdeck.store import Store
from agentdeck.telemetry.adapters.runs import RunsRepository
from agentdeck.telemetry.core.runs import RunRecord

__all__ = ["drain", "pause", "resume"]

console = Console()

Tenant = Annotated[str | None, typer.Option(help="Only this tenant's new runs.")]
Agent = Annotated[str | None, typer.Option(help="Only this agent's new runs.")]
All = Annotated[bool, typer.Option("--all", help="Every new run of the platform.")]
Reason = Annotated[str, typer.Option(help="Why; recorded with the pause.")]


def _scope(tenant: str | None, agent: str | None, everything: bool) -> ScopeKey:
    """The one scope the options name."""
    named = [(AdmissionScope.TENANT, tenant), (AdmissionScope.AGENT, agent)]
    chosen = [(scope, target) for scope, target in named if target]
    if everything:
        chosen.append((AdmissionScope.GLOBAL, ANY_TARGET))
    if len(chosen) != 1:
        raise ConfigError("name one scope: --tenant T, --agent A or --all")
    return chosen[0]


def _set(key: ScopeKey, *, paused: bool, reason: str) -> StackInfo:
    settings = CliSettings()
    stack = locate(settings)
    signer = operator_signer(settings, stack.data_dir)
    scope, target = key
    now = datetime.now(UTC)
    event = AdmissionSet(
        envelope=envelope_for(
            AdmissionSet,
            event_id=deterministic_id(
                "admission", scope.value, target, str(paused), now.isoformat()
            ),
            tenant=target if scope is AdmissionScope.TENANT else settings.tenant,
            producer=Producer(service="cli", version="0.1.0"),
            occurred_at=now,
        ),
        scope=scope,
        target=target,
        paused=paused,
        set_by=signer.key_id,
        reason=reason,
    )
    publish(stack, event, signer, client_id="cli-admission")
    return stack


def _label(key: ScopeKey) -> str:
    scope, target = key
    return "every new run" if scope is AdmissionScope.GLOBAL else f"{scope.value.lower()} {target}"


def pause(
    *, tenant: Tenant = None, agent: Agent = None, everything: All = False, reason: Reason
) -> None:
    """Hold new runs in a scope: goals admitted there wait (queued) until it is resumed.

    Runs already started go on; ``drain`` also waits for them to end.
    """
    key = _scope(tenant, agent, everything)
    _set(key, paused=True, reason=reason)
    console.print(f"paused {_label(key)}: new goals wait (status queued) until resumed")


def resume(
    *,
    tenant: Tenant = None,
    agent: Agent = None,
    everything: All = False,
    reason: Reason = "resumed",
) -> None:
    """Start new runs in a scope again, and the goals that waited there (oldest first)."""
    key = _scope(tenant, agent, everything)
    _set(key, paused=False, reason=reason)
    console.print(f"resumed {_label(key)}: its waiting goals start unless another pause holds them")


def drain(
    *,
    tenant: Tenant = None,
    agent: Agent = None,
    everything: All = False,
    reason: Reason = "drain",
    timeout: Annotated[float, typer.Option(min=0, help="Give up after this many seconds.")] = 600,
) -> None:
    """Pause a scope and wait until the runs already started there have ended.

    Returns once the planner holds the scope's new goals and no run of the scope
    is running or waiting for a human; exits 1, naming the runs, on timeout.
    The scope stays paused: ``resume`` starts what waited.
    """
    key = _scope(tenant, agent, everything)
    stack = _set(key, paused=True, reason=reason)
    store = Store.open(stack.database_url, data_dir=stack.data_dir, upgrade=False)
    deadline = time.monotonic() + timeout
    try:
        while not _applied(store, key):
            _wait(deadline, f"the planner did not apply the pause of {_label(key)}")
        while left := _active(store, key):
            _wait(
                deadline,
                f"{len(left)} run(s) still going: " + ", ".join(r.run_id for r in left[:10]),
            )
    finally:
        store.close()
    console.print(f"drained {_label(key)}: nothing runs there, and new goals wait until resumed")


def _wait(deadline: float, what: str) -> None:
    if time.monotonic() >= deadline:
        raise ConfigError(f"drain timed out: {what}")
    time.sleep(0.2)


def _applied(store: Store, key: ScopeKey) -> bool:
    """Whether the planner holds new goals in the scope ``key``."""
    with store.transaction(read_only=True) as conn:
        return key in PausedAdmission.pauses(conn).by_key


def _active(store: Store, key: ScopeKey) -> list[RunRecord]:
    scope, target = key
    with store.transaction(read_only=True) as conn:
        return RunsRepository().active(
            conn,
            tenant=target if scope is AdmissionScope.TENANT else None,
            agent=target if scope is AdmissionScope.AGENT else None,
        )
