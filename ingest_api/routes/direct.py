"""The ingress's one bypass of FastAPI: the event routes are called directly.

``POST /v1/events/{family}`` and ``POST /v1/events:batch`` carry nearly all the
traffic. Written like the other routes (``AuthenticatedDevice`` and
``ServicesDep`` dependencies, a ``response_model``), a single-event POST cost
+54 % of the server's CPU per request (147 -> 227 us) and a 100-event batch
+16 %; with the dependencies replaced by :func:`caller` but FastAPI's request
handler kept, still +32 % and +13 % (docs/benchmarks.md, Ingest API,
2026-12-05). So these two routes, and only they, are registered as a
:class:`DirectRoute`:

- the endpoint takes the request alone and FastAPI calls it as it is (no
  dependency solving, no answer checked against a model);
- it gets the app's services and the caller's device from :func:`caller`, which
  runs the same :func:`~ingest_api.auth.authenticate` as the
  ``AuthenticatedDevice`` dependency;
- it answers with a :class:`FastJSONResponse`; its ``response_model`` only
  documents the answer in OpenAPI, like any route's.

Everything else (paths, OpenAPI, error handlers, middleware) is FastAPI's as usual.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic_core import to_json

from ingest_api.auth import authenticate
from ingest_api.services import Services, get_services


class DirectRoute(APIRoute):
    """An ``APIRoute`` whose endpoint, taking only the ``Request``, is the handler.

    Raises
    ------
    TypeError
        At start-up, for an endpoint that takes anything but the request: its
        parameters would silently not be solved.
    """

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        """Return the endpoint itself."""
        parameters = inspect.signature(self.endpoint).parameters
        if (
            len(parameters) != 1
            or self.dependant.request_param_name is None
            or not inspect.iscoroutinefunction(self.endpoint)
        ):
            msg = f"{self.path}: a DirectRoute's endpoint is `async def f(request)`"
            raise TypeError(msg)
        return self.endpoint


async def caller(request: Request) -> tuple[Services, str]:
    """Return the app's services and the device whose API key the request carries.

    Raises
    ------
    HTTPException
        401/403/429/503, as the ``AuthenticatedDevice`` dependency.
    """
    services = await get_services(request)
    device_id = await authenticate(request, services.keys, services.auth_failures)
    return services, device_id


class FastJSONResponse(JSONResponse):
    """A ``JSONResponse`` encoded by pydantic-core: compact UTF-8, ids as strings."""

    def render(self, content: Any) -> bytes:
        """Return ``content`` as JSON bytes."""
        return to_json(content)
