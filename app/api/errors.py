"""One shape for every API error body: ``{"error": CODE, "message": TEXT, ...}``."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.errors import DomainError, Forbidden, NotFound, StaleVersion, ValidationFailed
from app.sara.stages import GateUnmet, MoveRefused
from app.validation import pydantic_errors


class FieldErrorBody(BaseModel):
    field: str
    message: str


class ErrorBody(BaseModel):
    error: str
    message: str


class ValidationErrorBody(ErrorBody):
    errors: list[FieldErrorBody]


class StaleVersionBody(ErrorBody):
    current_version: int


class ConflictBody(ErrorBody):
    """A change refused because of the case's state: closed (``conflict``), or changed since
    the version given (``stale_version``, with ``current_version``)."""

    current_version: int | None = None


class UnmetItem(BaseModel):
    code: str
    message: str


class GateUnmetBody(ErrorBody):
    stage: str
    unmet: list[UnmetItem]


def error_json(status: int, code: str, message: str, **extra: Any) -> JSONResponse:
    return JSONResponse({"error": code, "message": message, **extra}, status_code=status)


def domain_error_response(exc: Exception) -> JSONResponse:
    if isinstance(exc, GateUnmet):
        return error_json(409, "gate_unmet", str(exc), stage=exc.stage.value,
                          unmet=[{"code": u.code, "message": u.message} for u in exc.unmet])
    if isinstance(exc, MoveRefused):
        if exc.field == "reason":
            return error_json(422, "validation_error", exc.message,
                              errors=[{"field": "reason", "message": exc.message}])
        return error_json(409, "move_refused", exc.message)
    if isinstance(exc, ValidationFailed):
        return error_json(422, exc.code, exc.message,
                          errors=[{"field": e.field, "message": e.message} for e in exc.errors])
    if isinstance(exc, StaleVersion):
        return error_json(409, exc.code, exc.message, current_version=exc.current_version)
    assert isinstance(exc, DomainError)
    status = 404 if isinstance(exc, NotFound) else 403 if isinstance(exc, Forbidden) else 409
    return error_json(status, exc.code, exc.message)


def request_validation_response(exc: RequestValidationError) -> JSONResponse:
    errors = pydantic_errors(exc.errors(), drop_prefix=("body", "query", "path"))
    noun = "field is" if len(errors) == 1 else "fields are"
    return error_json(422, "validation_error", f"{len(errors)} {noun} not valid.",
                      errors=[{"field": e.field, "message": e.message} for e in errors])


def http_error_response(exc: StarletteHTTPException) -> JSONResponse:
    codes = {400: "bad_request", 401: "unauthenticated", 403: "forbidden", 404: "not_found",
             405: "method_not_allowed", 409: "conflict", 413: "too_large",
             429: "rate_limited"}
    message = str(exc.detail)
    if exc.status_code == 400 and "parsing the body" in message:
        message = "The request body could not be read: send JSON encoded as UTF-8."
    response = error_json(exc.status_code, codes.get(exc.status_code, "error"), message)
    for name, value in (exc.headers or {}).items():
        response.headers[name] = value
    return response


def is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorBody, "description": "The body could not be read (e.g. not UTF-8)"},
    401: {"model": ErrorBody, "description": "No token, or an unknown or revoked token"},
    403: {"model": ErrorBody, "description": "The token's role does not allow this"},
    404: {"model": ErrorBody, "description": "No such case, or not within the token's scope"},
    413: {"model": ErrorBody, "description": "The request body is larger than the limit "
          "(`too_large`), refused before it is read whole"},
    422: {"model": ValidationErrorBody, "description": "Input not valid: a message per field"},
    429: {"model": ErrorBody, "description": "The token has made more requests than "
          "`POPCASE_API_RATE_LIMIT` allows (`rate_limited`); nothing was done. Retry after "
          "`Retry-After` seconds",
          "headers": {"Retry-After": {"description": "Seconds until the token may ask again",
                                      "schema": {"type": "integer"}}}},
    503: {"model": ErrorBody, "description": "The database cannot be reached, or is too busy, "
          "for a moment (`database_unavailable`); nothing was changed. Retry after "
          "`Retry-After` seconds"},
}
