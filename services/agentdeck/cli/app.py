"""``agentdeck``: run and operate the platform from a terminal."""

from __future__ import annotations

import signal
import sys
import threading
from types import FrameType
from typing import Annotated

import typer
from rich.console import Console

from agentdeck.cli import (
    approvals,
    bench,
    cancel,
    commands,
    pause,
    privacy,
    replay,
    rollback,
    worker,
)
from agentdeck.cli.audit import audit_app
from agentdeck.cli.dead_letters import dead_letters_app
from agentdeck.cli.settings import CliSettings
from agentdeck.cli.up import run_up
from agentdeck.errors import AgentdeckError

app = typer.Typer(
    name="agentdeck",
    help="Agent-native infrastructure: autonomous agents as event-driven services on Kafka.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
console = Console()


@app.callback()
def _root() -> None:
    """Agent-native infrastructure: autonomous agents as event-driven services on Kafka."""


for _command in (
    commands.submit,
    commands.runs,
    commands.rejected,
    commands.show,
    commands.kill,
    cancel.cancel,
    pause.pause,
    pause.resume,
    pause.drain,
    rollback.rollback,
    privacy.erase,
    privacy.retention,
    commands.metrics,
    approvals.approvals,
    approvals.approve,
    approvals.deny,
    worker.worker,
    replay.replay,
    bench.bench,
):
    app.command()(_command)
app.add_typer(audit_app, name="audit", help="Verify the tamper-evident log; export proofs.")
app.add_typer(dead_letters_app, name="dead-letters")


@app.command()
def up(
    demo: Annotated[bool, typer.Option(help="Submit the four demo goals.")] = True,
    demo_timeout: Annotated[float, typer.Option(min=1, help="Seconds to wait for them.")] = 90,
) -> None:
    """Start broker, stores and all five services, run the demo, keep running until Ctrl-C."""
    stop = threading.Event()

    def _stop(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    run_up(CliSettings(), stop, console, demo=demo, demo_timeout_s=demo_timeout)


def main(argv: list[str] | None = None) -> int:
    """Entry point: usage and platform errors become one line on stderr, never a traceback."""
    try:
        app(args=argv, standalone_mode=False)
    except typer.TyperException as exc:  # usage errors: unknown command, bad option, ...
        sys.stderr.write(f"agentdeck: error: {exc.format_message()} (see: agentdeck --help)\n")
        return exc.exit_code
    except typer.Abort:
        return 130
    except AgentdeckError as exc:
        sys.stderr.write(f"agentdeck: error: {exc}\n")
        return 1
    return 0


def run() -> None:
    """Console-script entry point."""
    raise SystemExit(main())


if __name__ == "__main__":
    run()
