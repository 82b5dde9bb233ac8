"""The approvers' HTTP API (FastAPI).

``GET /approvals``, ``GET /approvals/{id}``, ``POST /approvals/{id}/approve``
and ``POST /approvals/{id}/deny``; every call needs ``Authorization: Bearer
<token>``. ``GET /`` is a small page for approvers over the same calls;
``GET /healthz`` answers without a token.

Every error is JSON ``{"error": code, "message": ..., "options": [...]}``:
401 unknown token; 403 wrong role or the requester's own request; 404 unknown
approval; 409 already decided, already voted or past the deadline; 422 a bad
body; 503 the store is unreachable, or the decision is recorded but its event
not yet acknowledged (the service publishes it shortly).
A 200 on a verdict means its signed event is on Kafka.
"""

from __future__ import annotations

from importlib import resources
from typing import Annotated

from fastapi import Depends, FastAPI, Header, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse
from starlette.exceptions import HTTPException

from agentdeck.approval.adapters.auth import TokenAuthenticator
from agentdeck.approval.adapters.views import approvals_of, detail_of, view_of
from agentdeck.approval.api import (
    ApprovalDetail,
    ApprovalList,
    DecisionBody,
    DecisionResult,
    ErrorBody,
)
from agentdeck.approval.core import Approver, Rejection, Verdict
from agentdeck.approval.desk import ApprovalDesk, PublishPending
from agentdeck.errors import Failure

__all__ = ["ApiError", "create_app"]

_STATUS = {
    "not_found": 404,
    "requester_cannot_decide": 403,
    "wrong_role": 403,
    "already_decided": 409,
    "already_voted": 409,
    "deadline_passed": 409,
    "busy": 503,
}


class ApiError(Exception):
    """An error answer: HTTP status plus the JSON error body."""

    def __init__(self, status: int, code: str, message: str, options: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.status = status
        self.body = ErrorBody(error=code, message=message, options=list(options))


def _error_response(status: int, body: ErrorBody) -> JSONResponse:
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(body.model_dump(), status_code=status, headers=headers)


def _install_error_handlers(app: FastAPI) -> None:
    async def api_error(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ApiError)  # noqa: S101 - registered for ApiError only
        return _error_response(exc.status, exc.body)

    async def invalid(_request: Request, exc: Exception) -> JSONResponse:
        body = ErrorBody(error="invalid_request", message=str(exc), options=["fix the body"])
        return _error_response(422, body)

    async def http_error(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, HTTPException)  # noqa: S101 - registered for HTTPException only
        body = ErrorBody(error=f"http_{exc.status_code}", message=str(exc.detail), options=[])
        return _error_response(exc.status_code, body)

    async def failure(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, Failure)  # noqa: S101 - registered for Failure only
        body = ErrorBody(error=exc.code, message=exc.message, options=list(exc.remediation))
        return _error_response(503 if exc.retryable else 500, body)

    app.add_exception_handler(ApiError, api_error)
    app.add_exception_handler(Failure, failure)
    app.add_exception_handler(RequestValidationError, invalid)
    app.add_exception_handler(HTTPException, http_error)


def _rejected(rejection: Rejection) -> ApiError:
    status = _STATUS.get(rejection.code, 409)
    return ApiError(status, rejection.code, rejection.message, rejection.options)


def _approver(request: Request, authorization: Annotated[str | None, Header()] = None) -> Approver:
    auth: TokenAuthenticator = request.app.state.auth
    scheme, _, token = (authorization or "").partition(" ")
    who = auth.identify(token.strip()) if scheme.lower() == "bearer" else None
    if who is None:
        raise ApiError(
            401,
            "unauthenticated",
            "missing or unknown bearer token",
            ("send Authorization: Bearer <your approver token>",),
        )
    return who


Caller = Annotated[Approver, Depends(_approver)]


def create_app(desk: ApprovalDesk, auth: TokenAuthenticator) -> FastAPI:
    """The API over ``desk``, for approvers ``auth`` knows."""
    app = FastAPI(title="agentdeck approvals", version="1", openapi_url="/openapi.json")
    app.state.auth = auth
    page_html = resources.files(__package__).joinpath("page.html").read_text(encoding="utf-8")
    _install_error_handlers(app)

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def page() -> str:
        return page_html

    @app.get("/healthz")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/approvals", response_model=ApprovalList)
    def list_open(
        _caller: Caller, limit: Annotated[int, Query(ge=1, le=1000)] = 100
    ) -> ApprovalList:
        return ApprovalList(approvals=[view_of(c) for c in desk.pending(limit=limit)])

    @app.get("/approvals/{approval_id}", response_model=ApprovalDetail)
    def show(approval_id: str, _caller: Caller) -> ApprovalDetail:
        case = desk.get(approval_id)
        if case is None:
            raise ApiError(404, "not_found", f"no approval {approval_id}", ("GET /approvals",))
        return detail_of(case)

    def verdict(
        approval_id: str, who: Approver, kind: Verdict, body: DecisionBody
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

    return app
