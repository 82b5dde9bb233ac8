"""The approvers' HTTP API (FastAPI).

``GET /approvals``, ``GET /approvals/{id}``, ``POST /approvals/{id}/approve``
and ``POST /approvals/{id}/deny``; every call needs ``Authorization: Bearer
<token>``, checked before the body is read (:mod:`.boundary`). ``GET /`` is a
small page for approvers over the same calls; ``GET /healthz`` answers
without a token.

An approver sees and decides only the approvals of the tenants it acts for,
in the roles it holds; any other approval answers exactly like one that
does not exist.

Every error is JSON ``{"error": code, "message": ..., "options": [...]}``:
400 a body that is not JSON; 401 no valid token; 403 the requester's own
request; 404 unknown approval, or not the caller's; 409 already decided,
already voted, past the deadline, or an approval an engaged kill switch
covers (``kill_switch_engaged``; ``run_cancelled`` for a cancelled run's; a
denial is still taken); 413 a body above
the limit; 422 a bad body; 503 the store or the identity provider is
unreachable, the kill switches are not read yet, or the decision is
recorded but its event not yet acknowledged (the service publishes it
shortly). A 200 on a verdict means its signed event is on Kafka.
"""

from __future__ import annotations

import base64
import hashlib
import re
from importlib import resources
from typing import Annotated

from fastapi import Depends, FastAPI, Query, Request
from fastapi.responses import HTMLResponse

from agentdeck.approval.adapters.auth import Authenticator
from agentdeck.approval.adapters.boundary import PRINCIPAL, Boundary
from agentdeck.approval.adapters.errors import ApiError, install_error_handlers
from agentdeck.approval.adapters.views import approvals_of, detail_of, view_of
from agentdeck.approval.api import ApprovalDetail, ApprovalList, DecisionBody, DecisionResult
from agentdeck.approval.core import Principal, Rejection, Verdict
from agentdeck.approval.desk import ApprovalDesk, PublishPending

__all__ = ["DEFAULT_MAX_BODY_BYTES", "PUBLIC_PATHS", "create_app", "page_policy"]

DEFAULT_MAX_BODY_BYTES = 64 * 1024
PUBLIC_PATHS = ("/", "/healthz")
"""Paths served without a token: the page (it asks for one) and the health check."""

_STATUS = {
    "not_found": 404,
    "requester_cannot_decide": 403,
    "wrong_role": 403,
    "already_decided": 409,
    "already_voted": 409,
    "deadline_passed": 409,
    "kill_switch_engaged": 409,
    "run_cancelled": 409,
    "busy": 503,
    "kill_switches_loading": 503,
}


def _rejected(rejection: Rejection) -> ApiError:
    status = _STATUS.get(rejection.code, 409)
    return ApiError(status, rejection.code, rejection.message, rejection.options)


def _not_found(approval_id: str) -> ApiError:
    return ApiError(404, "not_found", f"no approval {approval_id}", ("list your approvals",))


def _digest(kind: str, page_html: str) -> str:
    found = re.search(rf"<{kind}>(.*?)</{kind}>", page_html, re.DOTALL)
    body = found.group(1) if found else ""
    return "'sha256-" + base64.b64encode(hashlib.sha256(body.encode()).digest()).decode() + "'"


def page_policy(page_html: str) -> str:
    """The page's Content-Security-Policy: its own inline script and style, its own API only.

    The page holds an approver's token; nothing injected into it may run,
    load from elsewhere, or send the token anywhere but this service.
    """
    return (
        f"default-src 'none'; script-src {_digest('script', page_html)}; "
        f"style-src {_digest('style', page_html)}; connect-src 'self'; "
        "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
    )


def _caller(request: Request) -> Principal:
    principal = request.scope.get("state", {}).get(PRINCIPAL)
    if not isinstance(principal, Principal):  # only if the app is served without its boundary
        raise ApiError(401, "unauthenticated", "no authenticated approver", ())
    return principal


Caller = Annotated[Principal, Depends(_caller)]


def create_app(
    desk: ApprovalDesk, auth: Authenticator, *, max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
) -> Boundary:
    """The API over ``desk`` for the principals ``auth`` knows, behind its boundary."""
    # No /docs or /redoc: they load scripts from a CDN. /openapi.json needs a token.
    app = FastAPI(title="agentdeck approvals", version="1", docs_url=None, redoc_url=None)
    page_html = resources.files(__package__).joinpath("page.html").read_text(encoding="utf-8")
    install_error_handlers(app)

    page_headers = {"Content-Security-Policy": page_policy(page_html)}

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def page() -> HTMLResponse:
        return HTMLResponse(page_html, headers=page_headers)

    @app.get("/healthz")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/approvals", response_model=ApprovalList)
    def list_open(
        caller: Caller, limit: Annotated[int, Query(ge=1, le=1000)] = 100
    ) -> ApprovalList:
        return ApprovalList(approvals=[view_of(c) for c in desk.pending(caller, limit=limit)])

    @app.get("/approvals/{approval_id}", response_model=ApprovalDetail)
    def show(approval_id: str, caller: Caller) -> ApprovalDetail:
        case = desk.get(approval_id, caller)
        if case is None:
            raise _not_found(approval_id)
        return detail_of(case)

    def verdict(
        approval_id: str, who: Principal, kind: Verdict, body: DecisionBody
    ) -> DecisionResult:
        try:
            decided = desk.decide(approval_id, who, kind, body.comment)
        except PublishPending as exc:
            raise ApiError(503, exc.code, exc.message, exc.remediation) from exc
        if isinstance(decided.result, Rejection):
            raise _rejected(decided.result)
        case = decided.result.case
        return DecisionResult(
            approval_id=approval_id,
            status=case.status.value,
            approvals=approvals_of(case),
            quorum=case.request.quorum,
            event_id=decided.event.envelope.event_id if decided.event else None,
        )

    @app.post("/approvals/{approval_id}/approve", response_model=DecisionResult)
    def approve(
        approval_id: str, caller: Caller, body: DecisionBody | None = None
    ) -> DecisionResult:
        return verdict(approval_id, caller, Verdict.APPROVE, body or DecisionBody())

    @app.post("/approvals/{approval_id}/deny", response_model=DecisionResult)
    def deny(approval_id: str, caller: Caller, body: DecisionBody | None = None) -> DecisionResult:
        return verdict(approval_id, caller, Verdict.DENY, body or DecisionBody())

    return Boundary(app, auth, max_body_bytes=max_body_bytes, public=PUBLIC_PATHS)
