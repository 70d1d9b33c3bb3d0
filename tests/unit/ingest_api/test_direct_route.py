"""The one bypass (``routes/direct.py``) refuses endpoints it would not solve."""

import pytest
from fastapi import APIRouter, FastAPI, Request
from fastapi.testclient import TestClient

from ingest_api.routes.direct import DirectRoute, FastJSONResponse
from ingest_api.services import ServicesDep


def test_an_endpoint_taking_the_request_alone_is_called_as_it_is():
    router = APIRouter(route_class=DirectRoute)

    @router.post("/echo", status_code=202)
    async def echo(request: Request) -> FastJSONResponse:
        return FastJSONResponse({"got": (await request.body()).decode()}, 202)

    app = FastAPI()
    app.include_router(router)
    with TestClient(app) as client:
        response = client.post("/echo", content=b"hi")
    assert response.status_code == 202
    assert response.content == b'{"got":"hi"}'  # compact, pydantic-core's
    assert "/echo" in app.openapi()["paths"]  # documented like any route


@pytest.mark.parametrize("kind", ["dependency", "sync"])
def test_an_endpoint_with_parameters_or_sync_is_refused_at_start_up(kind):
    router = APIRouter(route_class=DirectRoute)
    if kind == "dependency":

        async def endpoint(request: Request, services: ServicesDep) -> None:
            del request, services

    else:

        def endpoint(request: Request) -> None:  # type: ignore[misc]
            del request

    with pytest.raises(TypeError, match="async def f\\(request\\)"):
        router.add_api_route("/x", endpoint, methods=["POST"])
