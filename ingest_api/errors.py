"""The errors a client can get, each with one line that says what to do."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from fastapi import FastAPI, HTTPException, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError


class Unavailable(HTTPException):
    """503: a server the ingress needs (Kafka, Redis, PostgreSQL) did not answer.

    Nothing was acknowledged; the client retries after ``Retry-After`` seconds.
    """

    def __init__(self, detail: str, retry_after: int = 5) -> None:
        super().__init__(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            detail,
            headers={"Retry-After": str(retry_after)},
        )


class TooLarge(HTTPException):
    """413: a body or a single event is larger than the configured limit."""

    def __init__(self, detail: str) -> None:
        super().__init__(status.HTTP_413_CONTENT_TOO_LARGE, detail)


def field_errors(
    exc: ValidationError, prefix: Sequence[str | int] = ("body",)
) -> list[dict[str, Any]]:
    """Return pydantic's errors as ``{loc, msg, type}``, located under ``prefix``.

    The input value is left out on purpose: it may be a megabyte of base64.
    """
    return [
        {
            "loc": [*prefix, *error["loc"]],
            "msg": _message(error["type"], error["msg"]),
            "type": error["type"],
        }
        for error in exc.errors(include_url=False)
    ]


def _message(kind: str, msg: str) -> str:
    if kind == "json_invalid":
        return f"the body is not valid JSON: {msg.removeprefix('Invalid JSON: ')}"
    return msg


def invalid(errors: Iterable[dict[str, Any]]) -> RequestValidationError:
    """Return the 422 exception for already formatted field errors."""
    return RequestValidationError(list(errors))


def one_invalid(loc: Sequence[str | int], msg: str) -> RequestValidationError:
    """Return the 422 exception for one field."""
    return invalid([{"loc": list(loc), "msg": msg, "type": "value_error"}])


def _trim(error: dict[str, Any]) -> dict[str, Any]:
    trimmed = {key: error[key] for key in ("loc", "msg", "type") if key in error}
    if error.get("type") == "json_invalid" and "error" in error.get("ctx", {}):
        trimmed["msg"] = f"the body is not valid JSON: {error['ctx']['error']}"
    return trimmed


async def _validation_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)  # noqa: S101 - registered for it
    return JSONResponse(
        status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
        content={"detail": [_trim(e) for e in exc.errors()]},
    )


def install(app: FastAPI) -> None:
    """Register the 422 handler that names fields without echoing their values."""
    app.add_exception_handler(RequestValidationError, _validation_error)


# OpenAPI descriptions of the error answers, shared by the routers.
UNAVAILABLE = {
    503: {
        "description": "Kafka (or Redis/PostgreSQL) is unreachable; nothing was "
        "acknowledged: retry after Retry-After seconds",
        "headers": {"Retry-After": {"schema": {"type": "integer"}}},
    }
}
AUTH = {
    401: {"description": "No API key, or an unknown or revoked one"},
    403: {"description": "The key belongs to another device than the one named"},
    429: {
        "description": "Too many failed authentications from this address: retry "
        "after Retry-After seconds",
        "headers": {"Retry-After": {"schema": {"type": "integer"}}},
    },
}
INVALID = {
    413: {"description": "The body or an event is larger than the configured limit"},
    422: {"description": "Malformed JSON or a field that breaks the schema (named)"},
}
