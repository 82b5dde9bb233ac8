"""A small client of the approval API, for the CLI and scripts.

Every function takes the service's base URL (``http://127.0.0.1:8470``) and
the approver's bearer token, and raises :class:`ApprovalApiError` (with the
API's error code, message and options) on any error answer.
"""

from __future__ import annotations

from typing import Any

import httpx

from agentdeck.approval.api import ApprovalDetail, ApprovalView, DecisionResult, ErrorBody

__all__ = ["ApprovalApiError", "approve", "deny", "get", "list_pending"]

DEFAULT_TIMEOUT_S = 10.0


class ApprovalApiError(Exception):
    """The API refused a call.

    Attributes:
        status: HTTP status.
        error: The API's machine-readable code (``wrong_role``, ``already_decided``...).
        message: What happened.
        options: What the caller can do.
    """

    def __init__(self, status: int, body: ErrorBody) -> None:
        super().__init__(f"{status} {body.error}: {body.message}")
        self.status = status
        self.error = body.error
        self.message = body.message
        self.options = tuple(body.options)


def _call(
    method: str, base_url: str, path: str, token: str, *, timeout_s: float, json: Any = None
) -> Any:
    headers = {"Authorization": f"Bearer {token}"}
    url = base_url.rstrip("/") + path
    response = httpx.request(method, url, headers=headers, json=json, timeout=timeout_s)
    if response.is_success:
        return response.json()
    try:
        body = ErrorBody.model_validate(response.json())
    except ValueError:
        body = ErrorBody(error=f"http_{response.status_code}", message=response.text[:500])
    raise ApprovalApiError(response.status_code, body)


def list_pending(
    base_url: str, token: str, *, timeout_s: float = DEFAULT_TIMEOUT_S
) -> list[ApprovalView]:
    """The open approvals, most urgent first."""
    data = _call("GET", base_url, "/approvals", token, timeout_s=timeout_s)
    return [ApprovalView.model_validate(item) for item in data["approvals"]]


def get(
    base_url: str, token: str, approval_id: str, *, timeout_s: float = DEFAULT_TIMEOUT_S
) -> ApprovalDetail:
    """One approval with its arguments, reason and votes."""
    data = _call("GET", base_url, f"/approvals/{approval_id}", token, timeout_s=timeout_s)
    return ApprovalDetail.model_validate(data)


def _verdict(
    kind: str,
    base_url: str,
    token: str,
    approval_id: str,
    *,
    comment: str | None,
    timeout_s: float,
) -> DecisionResult:
    path = f"/approvals/{approval_id}/{kind}"
    data = _call("POST", base_url, path, token, timeout_s=timeout_s, json={"comment": comment})
    return DecisionResult.model_validate(data)


def approve(
    base_url: str,
    token: str,
    approval_id: str,
    comment: str | None = None,
    *,
    timeout_s: float = DEFAULT_TIMEOUT_S,
) -> DecisionResult:
    """Approve; once the result's ``event_id`` is set, the signed grant is on Kafka."""
    return _verdict("approve", base_url, token, approval_id, comment=comment, timeout_s=timeout_s)


def deny(
    base_url: str,
    token: str,
    approval_id: str,
    comment: str | None = None,
    *,
    timeout_s: float = DEFAULT_TIMEOUT_S,
) -> DecisionResult:
    """Deny; the signed denial is on Kafka when this returns."""
    return _verdict("deny", base_url, token, approval_id, comment=comment, timeout_s=timeout_s)
