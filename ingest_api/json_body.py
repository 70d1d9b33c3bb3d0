"""The one JSON parser of the ingress: every request body and text frame goes here.

A body is refused, with a 4xx naming the limit, when it is larger than
``LOOM_MAX_BODY_BYTES`` (413, by the app's ``BodyLimit`` before any route reads
it), nested deeper than :data:`MAX_DEPTH`, holds an integer longer than
:data:`MAX_INT_DIGITS` digits or a number that is not finite (422). Python's ``json`` module would recurse until ``RecursionError``, refuse long
integers with a ``ValueError`` and hand ``float()`` integers it overflows on; this
parser (pydantic-core's) does none of that.

- :func:`parse_json` parses bytes (raising :class:`JsonLimitError`, a
  ``ValueError``, with the reason);
- :func:`read_json` reads a request's body and parses it, answering 422
  (:data:`JsonBody` is that as a dependency);
- :class:`BoundedJsonRoute` is the route class under which FastAPI's own body
  parsing (routes with pydantic body models) uses :func:`parse_json` too.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from pydantic_core import from_json

from ingest_api.errors import one_invalid

MAX_DEPTH = 32
"""Deepest nesting of arrays and objects (no Loom body needs more than 6)."""
MAX_INT_DIGITS = 20
"""Longest integer, in digits (a 64-bit integer has at most 20)."""
_MAX_INT = 10**MAX_INT_DIGITS


class JsonLimitError(ValueError):
    """The JSON is malformed or goes past a limit; the message says which."""


def _check(value: Any) -> None:
    """Raise unless ``value`` is within :data:`MAX_DEPTH` and the number limits."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, list):
            children = item
        elif type(item) is int:
            if not -_MAX_INT < item < _MAX_INT:
                msg = f"an integer is longer than {MAX_INT_DIGITS} digits (the limit)"
                raise JsonLimitError(msg)
            continue
        elif type(item) is float:
            if item - item != 0.0:  # inf or nan
                msg = "a number is too large to be finite"
                raise JsonLimitError(msg)
            continue
        else:
            continue
        if depth > MAX_DEPTH:
            msg = f"the JSON is nested deeper than {MAX_DEPTH} levels (the limit)"
            raise JsonLimitError(msg)
        stack.extend((child, depth + 1) for child in children)


def parse_json(data: bytes | str, max_bytes: int | None = None) -> Any:
    """Return the value of a JSON document, checked against the limits.

    Raises
    ------
    JsonLimitError
        When it is not JSON, is over ``max_bytes`` or breaks a limit.
    """
    if max_bytes is not None and len(data) > max_bytes:
        msg = f"the JSON is larger than {max_bytes} bytes (the limit)"
        raise JsonLimitError(msg)
    try:
        value = from_json(data, allow_inf_nan=False)
    except ValueError as exc:
        reason = str(exc)
        if reason.startswith("recursion limit"):
            msg = f"the JSON is nested deeper than {MAX_DEPTH} levels (the limit)"
        elif reason.startswith("number out of range"):
            msg = f"an integer is longer than {MAX_INT_DIGITS} digits (the limit)"
        else:
            msg = f"the body is not valid JSON: {reason}"
        raise JsonLimitError(msg) from None
    _check(value)
    return value


async def read_json(request: Request) -> Any:
    """Return the request's JSON body, or raise the 422 that says what is wrong."""
    body = await request.body()
    if not body.strip():
        raise one_invalid(["body"], "the body is empty; send a JSON object")
    try:
        return parse_json(body)
    except JsonLimitError as exc:
        raise one_invalid(["body"], str(exc)) from None


JsonBody = Annotated[Any, Depends(read_json)]
"""A route's JSON body, parsed by :func:`read_json` (for bodies of several shapes)."""


class _BoundedRequest(Request):
    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            try:
                self._json = await read_json(self)
            except RequestValidationError as exc:
                # FastAPI answers 400 to anything but an HTTPException here.
                detail = list(exc.errors())
                raise HTTPException(422, detail) from None
        return self._json


class BoundedJsonRoute(APIRoute):
    """An ``APIRoute`` whose pydantic body models are parsed by :func:`read_json`.

    FastAPI answers 400 "There was an error parsing the body" to any exception
    but an ``HTTPException`` while it reads a body; so the body of a route that
    has one is read first, here (a client leaving mid-body then gets the app's
    499), and its JSON errors are raised as the 422 ``HTTPException`` they are.
    """

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        """Return FastAPI's handler, given a request whose ``json()`` is bounded."""
        handler = super().get_route_handler()
        reads_body = self.body_field is not None

        async def bounded(request: Request) -> Response:
            request = _BoundedRequest(request.scope, request.receive)
            if reads_body:
                await request.body()
            return await handler(request)

        return bounded
