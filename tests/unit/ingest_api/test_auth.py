import base64

import pytest
from starlette.requests import HTTPConnection

from ingest_api.auth import Credentials, KeyStore, credentials


def conn(headers=(), query=b""):
    return HTTPConnection(
        {
            "type": "http",
            "headers": [(k.lower().encode(), v.encode()) for k, v in headers],
            "query_string": query,
        }
    )


def basic(user, password):
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


@pytest.mark.parametrize(
    ("request_", "expected"),
    [
        (conn([("Authorization", "Bearer loom_k")]), Credentials("loom_k")),
        (conn([("Authorization", "bearer  loom_k ")]), Credentials("loom_k")),
        (conn([("X-API-Key", "loom_k")]), Credentials("loom_k")),
        (conn(query=b"lat=1&key=loom_k"), Credentials("loom_k")),
        (
            conn([("Authorization", basic("phone", "loom_k"))]),
            Credentials("loom_k", "phone"),
        ),
        (conn([("Authorization", basic("", "loom_k"))]), Credentials("loom_k")),
        (conn([("Authorization", basic("a:b", "c"))]), Credentials("b:c", "a")),
    ],
)
def test_where_a_key_may_come_from(request_, expected):
    assert credentials(request_) == expected


@pytest.mark.parametrize(
    "request_",
    [
        conn(),
        conn([("Authorization", "Bearer ")]),
        conn([("Authorization", "Basic !!!notbase64")]),
        conn([("Authorization", basic("phone", ""))]),
        conn([("Authorization", "Token abc")]),
    ],
)
def test_requests_without_a_usable_key(request_):
    assert credentials(request_) is None


def test_header_wins_over_query():
    both = conn([("Authorization", "Bearer from-header")], b"key=from-query")
    assert credentials(both) == Credentials("from-header")


async def test_key_store_evicts_one_key_or_all():
    store = KeyStore("postgresql://unused", cache_s=60)
    store._cache[b"a"] = ("dev-a", float("inf"))
    store._cache[b"b"] = ("dev-b", float("inf"))
    generation = store._generation
    store.evict(b"a")
    assert b"a" not in store._cache
    assert b"b" in store._cache
    assert store._generation > generation
    store.evict()
    assert store._cache == {}
