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
    """The endpoint timed out, was unreachable, answered 5xx/429, or its breaker is open.

    ``retry_after_s`` is the wait it asked for (a 429's ``Retry-After``), or 0.
    """

    def __init__(self, message: str, *, code: str, retry_after_s: float = 0.0) -> None:
        super().__init__(
            message,
            capability="planner.llm",
            code=code,
            remediation=("the planner asks again after a backoff", "check the model endpoint"),
        )
        self.retry_after_s = retry_after_s


def _retry_after_s(response: httpx.Response) -> float:
    try:
        return max(0.0, float(response.headers.get("Retry-After", "0")))
    except ValueError:  # an HTTP date: the backoff decides
        return 0.0


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
        except httpx.TimeoutException as exc:
            raise ModelUnavailable(
                f"model endpoint did not answer in time: {exc!r}", code="model_timeout"
            ) from exc
        except httpx.HTTPError as exc:
            raise ModelUnavailable(f"model endpoint: {exc}", code="model_unreachable") from exc
        if response.status_code == 429:
            raise ModelUnavailable(
                "model endpoint answered 429 (rate limited)",
                code="model_rate_limited",
                retry_after_s=_retry_after_s(response),
            )
        if response.status_code >= 500:
            raise ModelUnavailable(
                f"model endpoint answered {response.status_code}", code="model_unavailable"
            )
        if response.status_code >= 400:
            raise TerminalError(
                f"model endpoint refused the request: {response.text[:500]}",
                capability="planner.llm",
                code="model_refused",
                remediation=("check the model name and the request size",),
            )
        try:
            answer: dict[str, Any] = response.json()
        except ValueError as exc:
            raise ModelUnavailable(
                f"model endpoint answered {response.status_code} without JSON",
                code="model_bad_response",
            ) from exc
        return answer

    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()
