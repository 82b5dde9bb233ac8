"""``agentdeck approvals``, ``approve`` and ``deny``: the approver's side, over the HTTP API."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from agentdeck.approval import client
from agentdeck.cli.settings import CliSettings
from agentdeck.cli.stackfile import StackInfo, locate
from agentdeck.errors import ConfigError

__all__ = ["approvals", "approve", "deny"]

console = Console()

As = Annotated[str, typer.Option("--as", help="Approver identity (embedded demo: alice, bob).")]


def _endpoint(stack: StackInfo, settings: CliSettings, who: str) -> tuple[str, str]:
    url = settings.approval_url or stack.approval_url
    if not url:
        raise ConfigError("no approval API known: set AGENTDECK_CLI_APPROVAL_URL")
    if settings.approver_token:
        return url, settings.approver_token
    keys = Path(stack.data_dir) / "keys.json"
    if keys.exists():
        tokens: dict[str, str] = json.loads(keys.read_text(encoding="utf-8"))["approver_tokens"]
        if who in tokens:
            return url, tokens[who]
    raise ConfigError(f"no token for {who!r}: set AGENTDECK_CLI_APPROVER_TOKEN")


def _refused(exc: client.ApprovalApiError) -> ConfigError:
    options = f" (options: {'; '.join(exc.options)})" if exc.options else ""
    return ConfigError(f"{exc.error}: {exc.message}{options}")


def approvals(who: As = "alice") -> None:
    """Pending approvals you may decide (your tenants, your roles), most urgent first."""
    settings = CliSettings()
    url, token = _endpoint(locate(settings), settings, who)
    try:
        pending = client.list_pending(url, token)
    except client.ApprovalApiError as exc:
        raise _refused(exc) from exc
    if not pending:
        console.print("no pending approvals")
    for item in pending:
        console.print(
            f"[bold]{item.approval_id}[/]  run {item.run_id or '-'}  tool {item.tool}  "
            f"risk {item.risk_band}  role {item.approver_role}  "
            f"deadline {item.deadline:%Y-%m-%d %H:%M:%S %Z}",
            soft_wrap=True,
        )
        console.print(f"    {item.summary}", soft_wrap=True)


def _verdict(kind: str, approval_id: str, comment: str | None, who: str) -> None:
    settings = CliSettings()
    url, token = _endpoint(locate(settings), settings, who)
    decide = client.approve if kind == "approve" else client.deny
    try:
        decide(url, token, approval_id, comment)
    except client.ApprovalApiError as exc:
        raise _refused(exc) from exc
    console.print(f"{approval_id}: {'approved' if kind == 'approve' else 'denied'} by {who}")


def approve(
    approval_id: Annotated[str, typer.Argument()],
    comment: Annotated[str | None, typer.Option()] = None,
    who: As = "alice",
) -> None:
    """Approve a pending call; the run resumes where it stopped."""
    _verdict("approve", approval_id, comment, who)


def deny(
    approval_id: Annotated[str, typer.Argument()],
    comment: Annotated[str | None, typer.Option()] = None,
    who: As = "alice",
) -> None:
    """Deny a pending call; the run re-plans or fails with the reason."""
    _verdict("deny", approval_id, comment, who)
