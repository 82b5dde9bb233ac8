"""``agentdeck rollback``: undo what runs did, through their tools' compensations.

The CLI names the runs and asks; the planner, which owns runs, starts the
rollback run and its calls go through policy and approval like any other.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from agentdeck.cli.privacy import reading_codec
from agentdeck.cli.producer import operator_signer
from agentdeck.cli.settings import CliSettings
from agentdeck.cli.stackfile import StackInfo, locate
from agentdeck.cli.submit import publish
from agentdeck.contracts import (
    DecodeError,
    Producer,
    default_codec,
    deterministic_id,
    envelope_for,
)
from agentdeck.contracts.models import RollbackOutcome, RollbackReported, RollbackRequested
from agentdeck.errors import ConfigError, TerminalError
from agentdeck.ids import rollback_run_id_for
from agentdeck.store import Store
from agentdeck.telemetry.adapters.runs import RunsRepository
from agentdeck.telemetry.core.runs import RunRecord

__all__ = ["rollback"]

console = Console()

_ROLLBACK_RUN = "rollback@"
"""How the runs projection names a rollback run's playbook: not itself a target of --last."""


def _targets(
    stack: StackInfo, runs: list[str], agent: str | None, last: int | None, tenant: str
) -> list[RunRecord]:
    """The runs to roll back, as the runs projection knows them; each must have ended."""
    if bool(runs) == (agent is not None):
        raise ConfigError("name the runs: --run RUN (repeatable), or --agent AGENT --last N")
    store = Store.open(stack.database_url, data_dir=stack.data_dir, upgrade=False)
    repo = RunsRepository()
    try:
        with store.transaction(read_only=True) as conn:
            if agent is not None:
                listed = repo.list_runs(conn, tenant=tenant, agent=agent, limit=10_000)
                found = [
                    r
                    for r in listed
                    if r.final and not (r.playbook_version or "").startswith(_ROLLBACK_RUN)
                ][: last or 1]
            else:
                known = repo.get_many(conn, runs)
                missing = [r for r in runs if r not in known]
                if missing:
                    raise ConfigError(f"no run {missing[0]} is known (agentdeck runs lists them)")
                found = [known[r] for r in dict.fromkeys(runs)]
    finally:
        store.close()
    if not found:
        raise ConfigError(f"agent {agent} of tenant {tenant} has no finished run to roll back")
    for run in found:
        if not run.final:
            raise ConfigError(f"run {run.run_id} is still {run.status.value}: cancel it first")
    if len({r.tenant for r in found}) > 1:
        raise ConfigError("the runs belong to several tenants: roll each tenant back on its own")
    return found


def _not_rolled_back_elsewhere(stack: StackInfo, targets: list[RunRecord], run_id: str) -> None:
    """Refuse runs an earlier rollback of other runs already named: their calls were undone
    (or reported) there, and a second rollback run would call the compensations again."""
    since = min(t.started_at for t in targets)
    ids = {t.run_id for t in targets}
    store = Store.open(stack.database_url, data_dir=stack.data_dir, upgrade=False)
    codec = default_codec()
    try:
        with store.transaction(read_only=True) as conn:
            found = store.archive.latest_of_type(
                conn, RollbackRequested.EVENT_TYPE, since=since, limit=10_000
            )
    finally:
        store.close()
    for item in found:
        try:
            earlier = codec.decode(item.payload)
        except DecodeError:
            continue
        if not isinstance(earlier, RollbackRequested) or earlier.envelope.run_id == run_id:
            continue
        overlap = sorted(ids & set(earlier.target_runs))
        if overlap:
            raise ConfigError(
                f"run {overlap[0]} was rolled back by {earlier.envelope.run_id} already"
                f" (agentdeck show {earlier.envelope.run_id}); leave it out"
            )


def _report(stack: StackInfo, run_id: str, timeout_s: float) -> RollbackReported | None:
    """The rollback run's report, once the planner has archived it (None after the timeout)."""
    settings = CliSettings()
    store = Store.open(stack.database_url, data_dir=stack.data_dir, upgrade=False)
    deadline = time.monotonic() + timeout_s
    try:
        codec = reading_codec(settings, stack, store)
        while True:
            with store.transaction(read_only=True) as conn:
                archived = store.archive.read_run(conn, run_id)
            for item in archived:
                if item.event_type != RollbackReported.EVENT_TYPE:
                    continue
                try:
                    event = codec.decode(item.payload)
                except DecodeError:
                    continue
                if isinstance(event, RollbackReported):
                    return event
            if time.monotonic() > deadline:
                return None
            time.sleep(0.2)
    finally:
        store.close()


def _table(report: RollbackReported) -> Table:
    table = Table(title=f"rollback {report.envelope.run_id}")
    for column in ("run", "step", "tool", "outcome", "compensation", "why"):
        table.add_column(column)
    for call in report.calls:
        table.add_row(
            call.run_id,
            call.step_id,
            call.tool,
            call.outcome.value.lower().replace("_", " "),
            call.compensation or "-",
            call.reason,
        )
    return table


def rollback(
    *,
    run: Annotated[list[str], typer.Option(help="A run to roll back (repeatable).")] = [],  # noqa: B006
    agent: Annotated[str | None, typer.Option(help="Roll back this agent's last runs.")] = None,
    last: Annotated[int, typer.Option(min=1, help="With --agent: how many runs.")] = 1,
    tenant: Annotated[str | None, typer.Option(help="Tenant (default: settings).")] = None,
    reason: Annotated[str, typer.Option(help="Why; recorded with the rollback.")],
    timeout: Annotated[float, typer.Option(min=0, help="Seconds to wait for the report.")] = 120,
) -> None:
    """Undo runs through their tools' compensations, newest call first; report every call.

    Starts one rollback run (its id follows from the runs, so asking again names
    the same run and undoes nothing twice) whose calls are the compensations the
    tool contracts name, each decided by policy and approval like any call. Every
    call of the runs is reported: undone, not undone and why, or nothing to undo.
    Exits 1 if a call may have changed the world and was not undone.
    """
    settings = CliSettings()
    stack = locate(settings)
    targets = _targets(stack, run, agent, last if agent else None, tenant or settings.tenant)
    ids = [t.run_id for t in targets]
    run_id = rollback_run_id_for(ids)
    _not_rolled_back_elsewhere(stack, targets, run_id)
    signer = operator_signer(settings, stack.data_dir)
    now = datetime.now(UTC)
    event = RollbackRequested(
        envelope=envelope_for(
            RollbackRequested,
            event_id=deterministic_id("rollback-requested", run_id),
            tenant=targets[0].tenant,
            producer=Producer(service="cli", version="0.1.0"),
            occurred_at=now,
            run_id=run_id,
            agent=targets[0].agent or None,
        ),
        target_runs=tuple(ids),
        requested_by=signer.key_id,
        reason=reason,
    )
    publish(stack, event, signer, client_id="cli-rollback")
    console.print(f"rollback {run_id} of {', '.join(ids)} requested")
    report = _report(stack, run_id, timeout)
    if report is None:
        raise TerminalError(
            f"rollback {run_id} has not reported within {timeout:g} s",
            capability="cli.rollback",
            code="rollback_pending",
            remediation=(f"agentdeck show {run_id} shows where it stands",),
        )
    console.print(_table(report))
    console.print(f"{report.undone} undone, {report.not_undone} not undone")
    if any(c.outcome is RollbackOutcome.NOT_UNDONE for c in report.calls):
        raise TerminalError(
            f"rollback {run_id}: calls not undone: {report.not_undone} (see the report)",
            capability="cli.rollback",
            code="not_undone",
        )
