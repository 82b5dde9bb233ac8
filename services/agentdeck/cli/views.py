"""How runs look in a terminal: a table of runs, and one run as a step tree."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from rich.table import Table
from rich.tree import Tree

from agentdeck.contracts import Event
from agentdeck.contracts import models as m
from agentdeck.telemetry.core import CostBreakdown, WeeklyMetrics
from agentdeck.telemetry.core.runs import RunRecord

__all__ = ["costs_table", "metrics_table", "run_tree", "runs_table"]

_STATUS_STYLE = {
    "completed": "green",
    "failed": "red",
    "cancelled": "yellow",
    "waiting_approval": "magenta",
    "running": "cyan",
}


def runs_table(runs: Sequence[RunRecord]) -> Table:
    """Runs, newest first: status, cost, calls, playbook."""
    table = Table(title="runs")
    for column in ("run", "status", "tenant", "playbook", "steps", "calls", "cost", "started"):
        table.add_column(column, no_wrap=column in {"run", "status", "cost"})
    for run in runs:
        style = _STATUS_STYLE.get(run.status.value, "")
        table.add_row(
            run.run_id,
            f"[{style}]{run.status.value}[/]",
            run.tenant,
            run.playbook_version or run.planner_version or "-",
            str(run.steps),
            str(run.tool_calls),
            f"${run.cost:.4f}",
            run.started_at.strftime("%H:%M:%S"),
        )
    return table


def rejections_table(rejections: Sequence[m.GoalRejected]) -> Table:
    """Refused goals, newest first: who claimed what, and why they were refused."""
    table = Table(title="rejected goals")
    for column in ("at", "claimed run", "tenant", "producer (key)", "code", "reason"):
        table.add_column(column, no_wrap=column in {"at", "code"})
    for event in rejections:
        who = event.producer_id or "unregistered"
        table.add_row(
            event.envelope.occurred_at.strftime("%Y-%m-%d %H:%M:%S"),
            event.claimed_run_id or "-",
            event.envelope.tenant,
            f"{who} ({event.key_id or 'no key'})",
            f"[red]{event.failure.code}[/]",
            event.failure.message,
        )
    return table


def _ms(start: datetime, end: datetime) -> str:
    return f"+{(end - start).total_seconds() * 1000:.0f} ms"


def _line(event: Event, start: datetime) -> str | None:
    at = _ms(start, event.envelope.occurred_at)
    match event:
        case m.ToolCallRequested():
            return f"{at} requested {event.tool}({event.arguments_json}) attempt {event.attempt}"
        case m.PolicyDecided():
            rules = ", ".join(event.matched_policies) or "no rule"
            return f"{at} policy: [bold]{event.outcome.value}[/] ({rules}): {event.reason}"
        case m.ApprovalRequested():
            return f"{at} approval requested from {event.approver_role}: {event.summary}"
        case m.ApprovalGranted() | m.ApprovalDenied():
            verb = "granted" if isinstance(event, m.ApprovalGranted) else "denied"
            return f"{at} approval {verb} by {event.approver} ({event.comment or 'no comment'})"
        case m.ApprovalExpired():
            return f"{at} approval expired: {event.outcome}"
        case m.ToolCallCompleted():
            return (
                f"{at} [green]completed[/] in {event.duration_ms} ms, "
                f"${event.cost_micros / 1e6:.4f}: {event.output_json[:120]}"
            )
        case m.ToolCallFailed():
            f = event.failure
            return (
                f"{at} [red]failed[/] {f.code} ({f.category}, retryable={f.retryable}): {f.message}"
            )
    return None


def run_tree(run_id: str, events: Sequence[Event]) -> Tree:
    """One run: its outcome, then each step with its decision, approval and result."""
    if not events:
        return Tree(f"run {run_id}: no events archived")
    start = events[0].envelope.occurred_at
    tree = Tree(f"[bold]run {run_id}[/]")
    steps: dict[str, Tree] = {}
    for event in events:
        step = event.envelope.step_id
        if isinstance(event, m.PlanProposed):
            tree.add(
                f"{_ms(start, event.envelope.occurred_at)} plan v{event.plan_version} "
                f"from {event.source}: {', '.join(s.step_id for s in event.steps)}"
                + (f" ({event.rationale})" if event.rationale else "")
            )
        elif isinstance(event, m.RunCompleted | m.RunFailed | m.RunCancelled):
            tree.add(_outcome(event, start))
        elif isinstance(event, m.RollbackReported):
            _rollback_report(
                tree.add(
                    f"{_ms(start, event.envelope.occurred_at)} "
                    f"rollback: {event.undone} undone, {event.not_undone} not undone"
                ),
                event,
            )
        elif step is not None and (line := _line(event, start)) is not None:
            if step not in steps:
                steps[step] = tree.add(f"step [bold]{step}[/]")
            steps[step].add(line)
    return tree


def _rollback_report(node: Tree, report: m.RollbackReported) -> None:
    for call in report.calls:
        outcome = call.outcome.value.lower().replace("_", " ")
        node.add(f"{call.run_id} {call.step_id} {call.tool}: {outcome} ({call.reason})")


def _outcome(event: m.RunCompleted | m.RunFailed | m.RunCancelled, start: datetime) -> str:
    at = _ms(start, event.envelope.occurred_at)
    if isinstance(event, m.RunCompleted):
        return (
            f"{at} [green]completed[/]: {event.steps} steps, {event.tool_calls} calls, "
            f"${event.cost_micros / 1e6:.4f}; output {event.output_json}"
        )
    if isinstance(event, m.RunFailed):
        f = event.failure
        return (
            f"{at} [red]failed[/] {f.code}: {f.message}; options: "
            f"{'; '.join(f.remediation) or 'none'}"
        )
    return f"{at} [yellow]cancelled[/] by {event.cancelled_by}: {event.reason}"


def metrics_table(weekly: WeeklyMetrics) -> Table:
    """The five metrics that matter weekly."""
    table = Table(title=f"metrics over {weekly.runs} finished runs")
    table.add_column("metric")
    table.add_column("value", justify="right")
    table.add_row("completion rate", f"{weekly.completion_rate:.0%}")
    table.add_row("cost per completion", f"${weekly.cost_per_completion_usd:.4f}")
    table.add_row("tool calls per task", f"{weekly.tool_calls_per_task:.1f}")
    table.add_row("escalation rate", f"{weekly.escalation_rate:.0%}")
    table.add_row("silent-failure rate", f"{weekly.silent_failure_rate:.0%}")
    return table


def costs_table(costs: CostBreakdown) -> Table:
    """Spend on tools and on models, then by tenant, agent, tool and model."""
    table = Table(title=f"cost: ${costs.total_micros / 1e6:.4f}")
    for column in ("by", "name", "cost"):
        table.add_column(column, justify="right" if column == "cost" else "left")
    table.add_row("tools", "total", f"${costs.tools_micros / 1e6:.4f}")
    table.add_row("models", "total", f"${costs.models_micros / 1e6:.4f}")
    for label, counter in (
        ("tenant", costs.by_tenant),
        ("agent", costs.by_agent),
        ("tool", costs.by_tool),
        ("model", costs.by_model),
    ):
        for name, micros in counter.most_common():
            table.add_row(label, name, f"${micros / 1e6:.4f}")
    return table
