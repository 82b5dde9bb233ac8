"""Talking to a model: any OpenAI-compatible chat-completions endpoint."""

from __future__ import annotations

from typing import Any, Protocol

import httpx

from agentdeck.errors import RetryableError, TerminalError

__all__ = ["ModelPort", "ModelUnavailable", "OpenAiCompatible"]


class ModelPort(Protocol):
    """Port: one chat-completions exchange."""

    def complete(self, request: dict[str, Any]) -> dict[str, Any]:
        """The endpoint's JSON answer to ``request``."""
        ...


class ModelUnavailable(RetryableError):
    """The endpoint timed out, was unreachable or answered 5xx/429."""


class OpenAiCompatible:
    """``POST {base_url}/chat/completions`` with a bearer key."""

    def __init__(self, base_url: str, *, api_key: str = "", timeout_s: float = 60.0) -> None:
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx.Client(
            base_url=base_url.rstrip("/"), headers=headers, timeout=timeout_s
        )

    def complete(self, request: dict[str, Any]) -> dict[str, Any]:
        """The answer, or ModelUnavailable (retry) / TerminalError (a request it refuses)."""
        try:
            response = self._client.post("/chat/completions", json=request)
        except httpx.HTTPError as exc:
            raise ModelUnavailable(
                f"model endpoint: {exc}", capability="planner.llm", code="model_unreachable"
            ) from exc
        if response.status_code == 429 or response.status_code >= 500:
            raise ModelUnavailable(
                f"model endpoint answered {response.status_code}",
                capability="planner.llm",
                code="model_unavailable",
            )
        if response.status_code >= 400:
            raise TerminalError(
                f"model endpoint refused the request: {response.text[:500]}",
                capability="planner.llm",
                code="model_refused",
                remediation=("check the model name and the request size",),
            )
        answer: dict[str, Any] = response.json()
        return answer

    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()
