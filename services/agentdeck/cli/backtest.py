"""Policy backtesting from the command line: ``agentdeck replay --policy BUNDLE``."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from rich.console import Console
from rich.table import Table

from agentdeck.cli.replay import load_run
from agentdeck.contracts import Codec, DecodeError, Event, default_codec
from agentdeck.store import Store

__all__ = ["run_backtest"]

console = Console()


def _events_since(store: Store, since: datetime, codec: Codec) -> list[Event]:
    events: list[Event] = []
    after = 0
    with store.transaction(read_only=True) as conn:
        while page := store.archive.iter_from(conn, after, 5_000):
            after = page[-1].seq
            for item in page:
                if item.occurred_at < since:
                    continue
                try:
                    events.append(codec.decode(item.payload))
                except DecodeError:
                    continue
    return events


def run_backtest(
    store: Store,
    bundle: Path,
    *,
    run_id: str | None,
    since_hours: float,
    json_out: Path | None,
    codec: Codec | None = None,
) -> None:
    """Backtest ``bundle`` over one run or the runs of the last ``since_hours``; print a report.

    ``codec`` opens the recorded arguments (personal data is sealed in the archive).
    """
    codec = codec or default_codec()
    from agentdeck.demo.tools import demo_registry  # noqa: PLC0415
    from agentdeck.policy_checker.adapters.catalog import ToolCatalog  # noqa: PLC0415
    from agentdeck.policy_checker.adapters.cedar import load_bundle  # noqa: PLC0415
    from agentdeck.policy_checker.backtest import backtest  # noqa: PLC0415

    events = (
        load_run(store, run_id, codec)
        if run_id
        else _events_since(store, datetime.now(UTC) - timedelta(hours=since_hours), codec)
    )
    report = backtest(events, load_bundle(bundle), ToolCatalog(demo_registry()))
    table = Table(
        title=f"{report.calls} calls re-decided by {bundle} "
        f"({report.bundle_digest[:12]}): {len(report.changes)} change"
    )
    for column in ("run", "step", "tool", "recorded", "candidate", "why"):
        table.add_column(column, no_wrap=column in {"run", "recorded", "candidate"})
    for c in report.changes:
        table.add_row(c.run_id, c.step_id, c.tool, c.recorded, c.candidate, c.reason)
    console.print(table)
    console.print(json.dumps(report.summary(), indent=2))
    if json_out is not None:
        json_out.write_text(json.dumps(report.as_json(), indent=2), encoding="utf-8")
