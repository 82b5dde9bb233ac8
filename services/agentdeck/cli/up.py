"""``agentdeck up``: the embedded stack, all five services, the demo, until Ctrl-C."""

from __future__ import annotations

import contextlib
import os
import threading
import time
import uuid

from rich.console import Console
from rich.table import Table

from agentdeck.cli.demo import demo_events, output_of, wait_for_outcomes
from agentdeck.cli.services import compose, embedded_codec
from agentdeck.cli.settings import CliSettings
from agentdeck.cli.stack import Stack, embedded_stack
from agentdeck.cli.stackfile import StackInfo, forget, remember
from agentdeck.cli.submit import publish_goal
from agentdeck.contracts import Codec
from agentdeck.demo.scripted_llm import ScriptedModel
from agentdeck.embedded import free_port
from agentdeck.embedded_stack.keys import load_or_create
from agentdeck.telemetry.core.runs import RunRecord, RunStatus

__all__ = ["run_up"]


def run_up(
    settings: CliSettings,
    stop: threading.Event,
    console: Console,
    *,
    demo: bool,
    demo_timeout_s: float,
) -> None:
    """Bring everything up, run the demo, report, and wait for ``stop``."""
    started = time.monotonic()
    with contextlib.ExitStack() as exits:
        with console.status("starting the broker, the stores and the five services..."):
            stack = exits.enter_context(embedded_stack(settings))
            model = exits.enter_context(ScriptedModel())
            port = free_port()
            keys = load_or_create(stack.data_dir)
            runners = compose(stack, keys, llm_base_url=model.base_url, approval_port=port)
            for runner in runners:
                runner.start()
                exits.callback(runner.stop)
            info = StackInfo(
                bootstrap_servers=stack.kafka.bootstrap_servers,
                topic_prefix=stack.kafka.topic_prefix,
                database_url=settings.store.database_url,
                data_dir=str(stack.data_dir),
                approval_url=f"http://127.0.0.1:{port}",
                pid=os.getpid(),
            )
            remember(info)
            exits.callback(forget, str(stack.data_dir))
        _report_health(console, stack, info, [r.name for r in runners])
        if demo:
            _run_demo(
                console,
                stack,
                info,
                tenant=settings.tenant,
                timeout_s=demo_timeout_s,
                started=started,
                codec=embedded_codec(keys, stack.store),
            )
        console.print("press Ctrl-C to stop")
        while not stop.wait(0.5):
            pass
    console.print("stopped; nothing left running")


def _report_health(console: Console, stack: Stack, info: StackInfo, services: list[str]) -> None:
    table = Table(title="agentdeck is up")
    for column in ("component", "status", "detail"):
        table.add_column(column)
    for row in stack.health():
        table.add_row(*row)
    table.add_row("services", "ok", ", ".join(services))
    table.add_row("approval API", "ok", info.approval_url)
    table.add_row(*_sandbox_row())
    console.print(table)


def _sandbox_row() -> tuple[str, str, str]:
    """The isolation sandboxed tools get here (they refuse to run without it)."""
    from agentdeck.tool_executor.adapters.sandbox import (  # noqa: PLC0415 -- it probes
        SandboxLimits,
        SubprocessSandbox,
    )

    isolation = SubprocessSandbox(SandboxLimits()).isolation
    status = "ok" if isolation.available else "refusing"
    return ("sandbox", status, isolation.describe().removeprefix("sandbox: "))


def _run_demo(
    console: Console,
    stack: Stack,
    info: StackInfo,
    *,
    tenant: str,
    timeout_s: float,
    started: float,
    codec: Codec,
) -> None:
    events = demo_events(tenant, uuid.uuid4().hex[:6])
    for _goal, event in events:
        publish_goal(info, event)
    run_ids = [e.envelope.run_id or "" for _g, e in events]
    with console.status("running the demo goals..."):
        outcomes = wait_for_outcomes(stack.store, run_ids, timeout_s=timeout_s)
    table = Table(title=f"demo runs ({time.monotonic() - started:.1f} s after start)")
    for column in ("run", "goal", "outcome", "cost", "what it shows"):
        table.add_column(column)
    for (goal, _event), run_id in zip(events, run_ids, strict=True):
        record = outcomes.get(run_id)
        table.add_row(
            run_id, goal.goal, _outcome(stack, record, codec), _cost(record), goal.expected
        )
    console.print(table)
    waiting = [
        r for r in run_ids if (rec := outcomes.get(r)) and rec.status is RunStatus.WAITING_APPROVAL
    ]
    console.print("where to look next:")
    console.print(f"  agentdeck show {run_ids[0]}      # a run's steps, decisions, reasons, cost")
    console.print("  agentdeck runs                  # every run")
    if waiting:
        console.print("  agentdeck approvals --as alice  # the approval queue")
        console.print("  agentdeck approve APPROVAL_ID --as alice --comment ok")
    console.print(f"  approval API {info.approval_url}/approvals; data in {stack.data_dir}")


def _outcome(stack: Stack, record: RunRecord | None, codec: Codec) -> str:
    if record is None:
        return "not started"
    if record.status is RunStatus.COMPLETED:
        output = output_of(stack.store, record.run_id, codec=codec)
        if output.get("handed_over") is True:
            return "completed: refund refused, handed over to a human"
        return "completed"
    return record.status.value.replace("_", " ")


def _cost(record: RunRecord | None) -> str:
    return f"${record.cost:.4f}" if record else "-"
