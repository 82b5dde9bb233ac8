"""``http_get``: a GET against an allow-list of hosts, size-capped, no redirects followed."""

from __future__ import annotations

from collections.abc import Callable, Collection
from urllib.parse import urlsplit

import httpx

from agentdeck.demo._models import HttpGet, HttpPage
from agentdeck.errors import ErrorCategory, RetryableError, TerminalError
from agentdeck.tools import ToolContext

__all__ = ["host_allowed", "http_getter"]

_CAPABILITY = "tool.http_get"


def host_allowed(url: str, allow: Collection[str]) -> bool:
    """Whether ``url``'s host (or ``host:port``) is on the allow-list, case-insensitively."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    allowed = {entry.lower() for entry in allow}
    return bool(host) and (host in allowed or f"{host}:{parts.port}" in allowed)


def _refuse(url: str) -> TerminalError:
    return TerminalError(
        f"{urlsplit(url).hostname!r} is not on the executor's http allow-list",
        capability=_CAPABILITY,
        code="host_not_allowed",
        category=ErrorCategory.POLICY,
        remediation=("use an allow-listed source", "ask an operator to allow the host"),
    )


def _read(response: httpx.Response, max_bytes: int) -> tuple[bytes, bool]:
    body = bytearray()
    for chunk in response.iter_bytes():
        body.extend(chunk)
        if len(body) > max_bytes:
            return bytes(body[:max_bytes]), True
    return bytes(body), False


def http_getter(
    allow: Collection[str], *, max_bytes: int = 64_000, timeout_s: float = 5.0
) -> Callable[[HttpGet, ToolContext], HttpPage]:
    """The ``http_get`` tool function for an allow-list of hosts."""
    allowed = tuple(allow)

    def http_get(args: HttpGet, _ctx: ToolContext) -> HttpPage:
        if not host_allowed(args.url, allowed):
            raise _refuse(args.url)
        try:
            with (
                httpx.Client(follow_redirects=False, timeout=timeout_s) as client,
                client.stream("GET", args.url) as response,
            ):
                body, truncated = _read(response, max_bytes)
        except httpx.HTTPError as exc:
            raise RetryableError(
                f"GET {args.url} failed: {exc}",
                capability=_CAPABILITY,
                code="http_unreachable",
                remediation=("retry later", "check that the source is up"),
            ) from exc
        if response.status_code >= 500:
            raise RetryableError(
                f"GET {args.url} answered {response.status_code}",
                capability=_CAPABILITY,
                code="http_server_error",
                remediation=("retry later",),
            )
        return HttpPage(
            url=args.url,
            status=response.status_code,
            content_type=response.headers.get("content-type", ""),
            body=body.decode(response.encoding or "utf-8", errors="replace"),
            truncated=truncated,
        )

    return http_get
