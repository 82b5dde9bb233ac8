"""Every error the API answers: JSON ``{"error", "message", "options"}`` and nothing more.

No answer carries a stack trace, a server path or the input echoed back:
FastAPI's own validation error text names the endpoint's source file and
line, so validation errors are rebuilt from their location in the request
and pydantic's message; anything unexpected is answered with a bare 500
(the traceback goes to the server's log only).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.types import Send

from agentdeck.approval.api import ErrorBody
from agentdeck.errors import Failure

__all__ = ["ApiError", "error_response", "install_error_handlers", "send_error"]


class ApiError(Exception):
    """An error answer: HTTP status plus the JSON error body."""

    def __init__(self, status: int, code: str, message: str, options: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.status = status
        self.body = ErrorBody(error=code, message=message, options=list(options))


def error_response(status: int, body: ErrorBody) -> JSONResponse:
    """The JSON answer of an error; a 401 says which scheme to use (RFC 6750)."""
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(body.model_dump(), status_code=status, headers=headers)


async def send_error(error: ApiError, send: Send) -> None:
    """Answer ``error`` straight on the ASGI channel, without reading the request."""
    response = error_response(error.status, error.body)
    await send(
        {"type": "http.response.start", "status": error.status, "headers": response.raw_headers}
    )
    await send({"type": "http.response.body", "body": response.body})


def _where(loc: Sequence[Any]) -> str:
    return ".".join(str(part) for part in loc if isinstance(part, str)) or "body"


def _invalid(exc: RequestValidationError) -> ApiError:
    errors = exc.errors()
    if any(e.get("type") == "json_invalid" for e in errors):
        return ApiError(400, "invalid_json", "the request body is not valid JSON", ("send JSON",))
    problems = "; ".join(f"{_where(e.get('loc', ()))}: {e.get('msg', 'invalid')}" for e in errors)
    return ApiError(422, "invalid_request", problems or "invalid request", ("fix the request",))


def install_error_handlers(app: FastAPI) -> None:
    """Make every error ``app`` answers an :class:`ErrorBody`."""

    async def api_error(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ApiError)  # noqa: S101 - registered for ApiError only
        return error_response(exc.status, exc.body)

    async def invalid(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)  # noqa: S101 - registered for it only
        refusal = _invalid(exc)
        return error_response(refusal.status, refusal.body)

    async def http_error(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, HTTPException)  # noqa: S101 - registered for HTTPException only
        body = ErrorBody(error=f"http_{exc.status_code}", message=str(exc.detail), options=[])
        return error_response(exc.status_code, body)

    async def failure(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, Failure)  # noqa: S101 - registered for Failure only
        body = ErrorBody(error=exc.code, message=exc.message, options=list(exc.remediation))
        return error_response(503 if exc.retryable else 500, body)

    async def unexpected(_request: Request, _exc: Exception) -> JSONResponse:
        # Starlette re-raises after this answer; the server logs the traceback.
        body = ErrorBody(error="internal", message="internal error", options=["retry later"])
        return error_response(500, body)

    app.add_exception_handler(ApiError, api_error)
    app.add_exception_handler(Failure, failure)
    app.add_exception_handler(RequestValidationError, invalid)
    app.add_exception_handler(HTTPException, http_error)
    app.add_exception_handler(Exception, unexpected)
