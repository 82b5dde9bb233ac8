"""``agentdeck cancel``: end one run now, through an operator-signed RUN kill switch."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.console import Console

from agentdeck.cli.producer import operator_signer
from agentdeck.cli.settings import CliSettings
from agentdeck.cli.stackfile import StackInfo, locate
from agentdeck.cli.submit import publish
from agentdeck.contracts import Producer, deterministic_id, envelope_for
from agentdeck.contracts.models import KillSwitchScope, KillSwitchSet
from agentdeck.errors import ConfigError
from agentdeck.store import Store
from agentdeck.telemetry.adapters.runs import RunsRepository
from agentdeck.telemetry.core.runs import RunRecord

__all__ = ["cancel"]

console = Console()


def _cancellable(stack: StackInfo, run_id: str) -> RunRecord:
    """The run as the runs projection knows it, if it can still be cancelled."""
    store = Store.open(stack.database_url, data_dir=stack.data_dir, upgrade=False)
    try:
        with store.transaction(read_only=True) as conn:
            run = RunsRepository().get(conn, run_id)
    finally:
        store.close()
    if run is None:
        raise ConfigError(f"no run {run_id} is known (agentdeck runs lists them)")
    if run.final:
        raise ConfigError(f"run {run_id} already ended {run.status.value}: nothing to cancel")
    return run


def cancel(
    run_id: Annotated[str, typer.Argument(help="The run to cancel.")],
    *,
    reason: Annotated[str, typer.Option(help="Why; recorded with the cancellation.")],
) -> None:
    """Cancel a run: its calls are refused where they would run, and it ends as cancelled.

    Engages the run's own kill switch (scope RUN), signed with the operator key:
    the executor and the approval service refuse the run's allowed, queued and
    parked calls, the policy-checker denies new ones and gives back the holds of
    calls waiting for a human, and the planner ends the run with RunCancelled.
    """
    settings = CliSettings()
    stack = locate(settings)
    run = _cancellable(stack, run_id)
    signer = operator_signer(settings, stack.data_dir)
    now = datetime.now(UTC)
    event = KillSwitchSet(
        envelope=envelope_for(
            KillSwitchSet,
            event_id=deterministic_id("cancel", run_id, now.isoformat()),
            tenant=run.tenant,
            producer=Producer(service="cli", version="0.1.0"),
            occurred_at=now,
            run_id=run_id,  # archived with the run: its replay sees why it ended
            agent=run.agent or None,
        ),
        scope=KillSwitchScope.RUN,
        target=run_id,
        engaged=True,
        set_by=signer.key_id,
        reason=reason,
    )
    publish(stack, event, signer, client_id="cli-cancel")
    console.print(f"run {run_id} cancelled: its calls are refused from now on")
