"""Commands that operate a running stack: submit, runs, show, kill."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from typing import Annotated

import typer
from rich.console import Console

from agentdeck.cli.privacy import reading_codec
from agentdeck.cli.producer import goal_signer, operator_signer
from agentdeck.cli.settings import CliSettings
from agentdeck.cli.stackfile import StackInfo, locate
from agentdeck.cli.submit import parse_inputs, publish, publish_goal
from agentdeck.cli.views import (
    costs_table,
    metrics_table,
    rejections_table,
    run_tree,
    runs_table,
)
from agentdeck.contracts import DecodeError, Producer, default_codec, deterministic_id, envelope_for
from agentdeck.contracts.models import GoalRejected, KillSwitchScope, KillSwitchSet, RunLimits
from agentdeck.embedded_stack.goals import goal_event
from agentdeck.store import Store
from agentdeck.telemetry.adapters.runs import RunsRepository, opened_goal
from agentdeck.telemetry.core.runs import RunStatus

__all__ = ["kill", "metrics", "rejected", "runs", "show", "submit"]

console = Console()


def _store(stack: StackInfo) -> Store:
    return Store.open(stack.database_url, data_dir=stack.data_dir, upgrade=False)


def submit(
    goal: Annotated[str, typer.Argument(help="What is to be achieved, in words.")],
    *,
    playbook: Annotated[str | None, typer.Option(help="Playbook to follow.")] = None,
    input_: Annotated[list[str], typer.Option("--input", "-i", help="key=value input.")] = [],  # noqa: B006
    inputs: Annotated[str | None, typer.Option(help="Inputs as a JSON object.")] = None,
    run_id: Annotated[str | None, typer.Option(help="Run id (default: a new one).")] = None,
    tenant: Annotated[str | None, typer.Option(help="Tenant (default: settings).")] = None,
    max_cost_usd: Annotated[float, typer.Option(min=0)] = 5.0,
    subject: Annotated[
        str | None,
        typer.Option(help="Data subject (a customer id): `agentdeck erase` erases their data."),
    ] = None,
) -> None:
    """Publish a goal; prints the run id."""
    settings = CliSettings()
    stack = locate(settings)
    event = goal_event(
        goal=goal,
        playbook=playbook,
        inputs=parse_inputs(input_, inputs),
        tenant=tenant or settings.tenant,
        run_id=run_id,
        requested_by="cli",
        limits=RunLimits(max_cost_micros=int(max_cost_usd * 1_000_000)),
        data_subject=subject,
    )
    publish_goal(stack, event, goal_signer(settings, stack.data_dir))
    console.print(f"submitted {event.envelope.run_id}")


def runs(
    status: Annotated[RunStatus | None, typer.Option(help="Only runs in this status.")] = None,
    limit: Annotated[int, typer.Option(min=1)] = 20,
) -> None:
    """List runs, newest first."""
    settings = CliSettings()
    stack = locate(settings)
    store = _store(stack)
    try:
        with store.transaction(read_only=True) as conn:
            found = RunsRepository().list_runs(conn, status=status, limit=limit)
        cipher = reading_codec(settings, stack, store).cipher
        if cipher is not None:  # goals are sealed in the projection, as in the events
            found = [dataclasses.replace(r, goal=opened_goal(cipher, r)) for r in found]
    finally:
        store.close()
    console.print(runs_table(found))


def rejected(
    hours: Annotated[float, typer.Option(min=0, help="Look back this many hours.")] = 24,
    limit: Annotated[int, typer.Option(min=1)] = 50,
) -> None:
    """Goals the planner refused (unsigned, unknown producer, outside its grant), newest first."""
    store = _store(locate(CliSettings()))
    since = datetime.now(UTC) - timedelta(hours=hours)
    codec = default_codec()
    try:
        with store.transaction(read_only=True) as conn:
            archived = store.archive.latest_of_type(
                conn, GoalRejected.EVENT_TYPE, since=since, limit=limit
            )
    finally:
        store.close()
    found = [e for a in archived if isinstance(e := codec.decode(a.payload), GoalRejected)]
    console.print(rejections_table(found))


def show(run_id: Annotated[str, typer.Argument(help="The run to show.")]) -> None:
    """One run's step tree: timings, decisions and reasons, approvals, results, cost."""
    settings = CliSettings()
    stack = locate(settings)
    store = _store(stack)
    events = []
    try:
        codec = reading_codec(settings, stack, store)  # opens personal data with the master key
        with store.transaction(read_only=True) as conn:
            archived = store.archive.read_run(conn, run_id)
        for item in archived:
            try:
                events.append(codec.decode(item.payload))
            except DecodeError:
                continue
    finally:
        store.close()
    events.sort(key=lambda e: e.envelope.occurred_at)
    console.print(run_tree(run_id, events))


def kill(
    *,
    scope: Annotated[KillSwitchScope, typer.Option(case_sensitive=False)],
    target: Annotated[str, typer.Option(help="Tenant, agent or tool; * for GLOBAL.")] = "*",
    reason: Annotated[str, typer.Option()] = "operator request",
    release: Annotated[bool, typer.Option(help="Release the switch instead.")] = False,
) -> None:
    """Engage (or release) a kill switch: new calls in its scope are denied within a second."""
    settings = CliSettings()
    stack = locate(settings)
    signer = operator_signer(settings, stack.data_dir)
    now = datetime.now(UTC)
    envelope = envelope_for(
        KillSwitchSet,
        event_id=deterministic_id("kill", scope.value, target, now.isoformat()),
        tenant=settings.tenant,
        producer=Producer(service="cli", version="0.1.0"),
        occurred_at=now,
    )
    event = KillSwitchSet(
        envelope=envelope,
        scope=scope,
        target=target,
        engaged=not release,
        set_by=signer.key_id,
        reason=reason,
    )
    publish(stack, event, signer, client_id="cli-kill")
    console.print(f"kill switch {scope.value}:{target} {'released' if release else 'engaged'}")


def metrics(
    days: Annotated[float, typer.Option(min=0, help="Look back this many days.")] = 7,
) -> None:
    """The weekly metrics and where the money went (tenant, agent, tool, model)."""
    from agentdeck.telemetry.adapters.metrics import report_since  # noqa: PLC0415

    store = _store(locate(CliSettings()))
    try:
        weekly, costs = report_since(
            store, default_codec(), datetime.now(UTC) - timedelta(days=days)
        )
    finally:
        store.close()
    console.print(metrics_table(weekly))
    console.print(costs_table(costs))
