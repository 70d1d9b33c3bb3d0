import asyncio
import json

import pytest
from fastapi import APIRouter, FastAPI
from pydantic import BaseModel
from starlette.requests import ClientDisconnect

from ingest_api.json_body import (
    MAX_DEPTH,
    BoundedJsonRoute,
    JsonLimitError,
    parse_json,
)


@pytest.mark.parametrize(
    ("body", "named"),
    [
        (b"[" * 5000 + b"]" * 5000, f"deeper than {MAX_DEPTH} levels"),
        (b'{"a":' * (MAX_DEPTH + 1) + b"1" + b"}" * (MAX_DEPTH + 1), "deeper than"),
        (b"1" * 5000, "longer than 20 digits"),
        (b'{"speed": ' + b"9" * 400 + b"}", "longer than 20 digits"),
        (b'{"speed": ' + b"9" * 400 + b".5}", "too large to be finite"),
        (b"[1e400]", "too large to be finite"),
        (b"NaN", "not valid JSON"),
        (b'"\xff"', "not valid JSON"),
        (b"", "not valid JSON"),
        (b'{"a": 1', "not valid JSON"),
    ],
)
def test_hostile_json_is_refused_naming_why(body, named):
    with pytest.raises(JsonLimitError, match=named):
        parse_json(body)


def test_ordinary_json_is_parsed_like_the_standard_library():
    body = json.dumps(
        {"events": [{"a": [1, 2.5, -(2**63)], "b": None, "c": "é", "d": True}]}
    )
    assert parse_json(body.encode()) == json.loads(body)
    nested = "[" * MAX_DEPTH + "]" * MAX_DEPTH
    assert parse_json(nested) == json.loads(nested)


def test_size_is_bounded_when_asked():
    with pytest.raises(JsonLimitError, match="larger than 4 bytes"):
        parse_json(b"[1, 2]", max_bytes=4)


# -- BoundedJsonRoute: FastAPI's body parsing under the bounded parser ---------------
def _bounded_app():
    class Body(BaseModel):
        a: int

    router = APIRouter(route_class=BoundedJsonRoute)

    @router.post("/x")
    async def endpoint(body: Body) -> dict[str, int]:
        return {"a": body.a}

    app = FastAPI()
    app.include_router(router)
    return app


def _call(app, *messages):
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/x",
        "raw_path": b"/x",
        "query_string": b"",
        "root_path": "",
        "headers": [(b"content-type", b"application/json")],
        "client": ("127.0.0.1", 1),
        "server": ("x", 80),
    }
    sent: list[dict] = []
    queue = list(messages)

    async def receive():
        return queue.pop(0)

    async def send(message):
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    return sent


def test_a_bounded_route_answers_json_it_cannot_parse_422_naming_the_body():
    for body in (b'{"a": 1', b'{"a": "\xff"}', b"[" * 5000):
        sent = _call(_bounded_app(), {"type": "http.request", "body": body})
        assert sent[0]["status"] == 422, body
        detail = json.loads(sent[1]["body"])["detail"]
        assert detail[0]["loc"] == ["body"]


def test_a_client_leaving_mid_body_is_not_answered_400():
    # FastAPI would turn the disconnect into 400 "There was an error parsing the
    # body"; read first, it stays a ClientDisconnect (the app answers it 499).
    with pytest.raises(ClientDisconnect):
        _call(
            _bounded_app(),
            {"type": "http.request", "body": b'{"a"', "more_body": True},
            {"type": "http.disconnect"},
        )
