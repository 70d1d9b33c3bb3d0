"""Hot routes: endpoints that take the request alone, and the JSON they answer."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.responses import JSONResponse
from pydantic_core import to_json

from ingest_api.json_body import BoundedJsonRoute


class DirectRoute(BoundedJsonRoute):
    """An ``APIRoute`` that calls an endpoint taking only the ``Request`` directly.

    FastAPI's request handler solves the endpoint's dependencies and checks its
    answer on every request, even for an endpoint whose one parameter is the
    request and which returns a ``Response``: about a sixth of a single-event
    POST's CPU in bench/ingest_throughput.py. The hot routes read their bodies,
    authenticate (``services.caller``) and answer themselves, so they skip it.
    The OpenAPI schema is generated as for any route; an endpoint with other
    parameters or dependencies is handled by FastAPI as usual (its JSON body
    parsed by the bounded parser).
    """

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        """Return the endpoint itself when it takes the request alone."""
        dependant = self.dependant
        alone = (
            len(inspect.signature(self.endpoint).parameters) == 1
            and dependant.request_param_name is not None
            and not dependant.dependencies
            and inspect.iscoroutinefunction(self.endpoint)
        )
        return self.endpoint if alone else super().get_route_handler()


class FastJSONResponse(JSONResponse):
    """A ``JSONResponse`` encoded by pydantic-core: compact UTF-8, ids as strings.

    ``json.dumps`` was a twentieth of a single-event POST's CPU; the answers of
    the hot routes are small dicts and lists of plain values.
    """

    def render(self, content: Any) -> bytes:
        """Return ``content`` as JSON bytes."""
        return to_json(content)
