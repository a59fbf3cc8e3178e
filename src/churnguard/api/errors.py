"""One error body for every failure: ``{"error": {"code": ..., "message": ..., "detail": ...}}``."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from churnguard.errors import ChurnguardError

CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
         405: "method_not_allowed", 409: "conflict", 413: "too_large",
         422: "invalid_input", 500: "internal_error", 503: "unavailable"}


class ErrorInfo(BaseModel):
    code: str
    message: str
    detail: Any = None


class ErrorBody(BaseModel):
    """The body of every error response."""

    error: ErrorInfo


def error_response(status: int, message: str, detail: Any = None,
                   headers: dict[str, str] | None = None) -> JSONResponse:
    body = ErrorBody(error=ErrorInfo(code=CODES.get(status, "error"), message=message,
                                     detail=detail))
    return JSONResponse(body.model_dump(), status_code=status, headers=headers)


#: the error responses routes declare in OpenAPI
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody, "description": "Not signed in, or an unknown API key"},
    403: {"model": ErrorBody, "description": "Signed in, but not allowed"},
    404: {"model": ErrorBody, "description": "No such resource (or not yours)"},
    422: {"model": ErrorBody, "description": "Invalid input"},
}


def install(app: FastAPI) -> None:
    """Register the handlers that turn every error into :class:`ErrorBody`."""

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        message = exc.detail if isinstance(exc.detail, str) else CODES.get(exc.status_code, "")
        detail = None if isinstance(exc.detail, str) else exc.detail
        return error_response(exc.status_code, message, detail,
                              headers=getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{"loc": list(e.get("loc", ())), "msg": e.get("msg", "")}
                  for e in exc.errors()]
        first = errors[0] if errors else {"loc": [], "msg": "invalid request"}
        where = ".".join(str(p) for p in first["loc"])
        return error_response(422, f"{where}: {first['msg']}", errors)

    @app.exception_handler(ChurnguardError)
    async def _churnguard(request: Request, exc: ChurnguardError) -> JSONResponse:
        return error_response(422, str(exc))
