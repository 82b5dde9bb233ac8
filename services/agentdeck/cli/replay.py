"""``agentdeck replay RUN``: rebuild a run from the log; ``--verify`` re-checks its decisions."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from agentdeck.cli.settings import CliSettings
from agentdeck.cli.stackfile import locate
from agentdeck.cli.views import run_tree
from agentdeck.contracts import DecodeError, Event, default_codec
from agentdeck.errors import ConfigError
from agentdeck.store import Store

__all__ = ["load_run", "replay"]

console = Console()


def load_run(store: Store, run_id: str) -> list[Event]:
    """The run's archived events, decoded, in the order they happened."""
    codec = default_codec()
    with store.transaction(read_only=True) as conn:
        archived = store.archive.read_run(conn, run_id)
    events = []
    for item in archived:
        try:
            events.append(codec.decode(item.payload))
        except DecodeError:
            continue
    return sorted(events, key=lambda e: e.envelope.occurred_at)


def replay(
    run_id: Annotated[
        str | None, typer.Argument(help="The run (omit with --policy for a range).")
    ] = None,
    *,
    verify: Annotated[
        bool, typer.Option(help="Re-run the planner's decisions and compare.")
    ] = False,
    policy: Annotated[Path | None, typer.Option(help="Backtest this policy bundle.")] = None,
    since_hours: Annotated[float, typer.Option(min=0, help="With --policy and no run.")] = 24,
    json_out: Annotated[Path | None, typer.Option("--json", help="Write the report here.")] = None,
) -> None:
    """Rebuild a run from the archive; --verify re-checks it; --policy backtests a bundle."""
    from agentdeck.cli.backtest import run_backtest  # noqa: PLC0415
    from agentdeck.demo.tools import demo_registry  # noqa: PLC0415
    from agentdeck.planner.adapters.playbooks import bundled_playbooks  # noqa: PLC0415
    from agentdeck.planner.main import tool_infos  # noqa: PLC0415
    from agentdeck.planner.replay import replay_run  # noqa: PLC0415

    stack = locate(CliSettings())
    store = Store.open(stack.database_url, data_dir=stack.data_dir, upgrade=False)
    try:
        if policy is not None:
            run_backtest(store, policy, run_id=run_id, since_hours=since_hours, json_out=json_out)
            return
        if run_id is None:
            raise ConfigError("name a run (or use --policy BUNDLE for a time range)")
        events = load_run(store, run_id)
    finally:
        store.close()
    if not events:
        raise ConfigError(f"no archived events for run {run_id}")
    console.print(run_tree(run_id, events))
    if not verify:
        return
    result = replay_run(events, playbooks=bundled_playbooks(), tools=tool_infos(demo_registry()))
    if result.divergence is not None:
        raise ConfigError(f"replay diverged: {result.divergence.describe()}")
    console.print(f"verified: {result.decisions} planner decisions reproduce the recorded run")
