"""``agentdeck``: run and operate the platform from a terminal."""

from __future__ import annotations

import signal
import sys
import threading
from types import FrameType

import typer
from rich.console import Console
from rich.table import Table

from agentdeck.cli import commands
from agentdeck.cli.settings import CliSettings
from agentdeck.cli.stack import Stack, embedded_stack
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


for _command in (commands.submit, commands.runs, commands.show, commands.kill):
    app.command()(_command)


@app.command()
def up() -> None:
    """Start the embedded stack (broker, stores) and keep it running until Ctrl-C."""
    settings = CliSettings()
    stop = threading.Event()

    def _stop(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    with console.status("starting the broker and the stores..."):
        stack_cm = embedded_stack(settings)
        stack = stack_cm.__enter__()
    try:
        _report(stack)
        while not stop.wait(0.5):
            pass
    finally:
        stack_cm.__exit__(None, None, None)
    console.print("stopped; nothing left running")


def _report(stack: Stack) -> None:
    table = Table(title="agentdeck is up")
    for column in ("component", "status", "detail"):
        table.add_column(column)
    for row in stack.health():
        table.add_row(*row)
    console.print(table)
    console.print(f"data: {stack.data_dir.resolve()}  (broker log: broker.log)")
    console.print("press Ctrl-C to stop")


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
