import base64

import pytest
from fastapi import HTTPException
from starlette.requests import HTTPConnection

from ingest_api.auth import Credentials, FailedAuthLimit, KeyStore, credentials


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


@pytest.mark.parametrize(
    "query",
    [b"%6Bey=loom_k", b"k%65y=loom_k", b"%6B%65%79=loom_k", b"api%5Fkey=x", b"KE%59=k"],
)
def test_a_percent_encoded_key_parameter_is_refused(query):
    with pytest.raises(HTTPException) as refused:
        credentials(conn(query=b"lat=1&" + query))
    assert refused.value.status_code == 400
    assert "percent-encoded" in refused.value.detail


def test_a_key_parameter_given_twice_is_refused():
    with pytest.raises(HTTPException) as refused:
        credentials(conn(query=b"key=loom_a&lat=1&key=loom_b"))
    assert refused.value.status_code == 400
    assert "once" in refused.value.detail


def test_failed_authentications_are_limited_per_address(monkeypatch):
    now = [1000.0]
    monkeypatch.setattr("ingest_api.auth.time.monotonic", lambda: now[0])
    limit = FailedAuthLimit(per_minute=3)
    for _ in range(3):
        assert limit.retry_after("10.0.0.1") is None
        limit.failed("10.0.0.1")
    assert limit.retry_after("10.0.0.1") == 60
    assert limit.retry_after("10.0.0.2") is None
    now[0] += 45
    assert limit.retry_after("10.0.0.1") == 15
    now[0] += 15
    assert limit.retry_after("10.0.0.1") is None


async def test_unknown_keys_are_refused_from_the_negative_cache(monkeypatch):
    store = KeyStore("postgresql://unused", cache_s=0, unknown_cache_s=30)
    asked = []

    async def lookup(digest):
        asked.append(digest)

    monkeypatch.setattr(store, "_lookup", lookup)
    assert await store.device_for("loom_wrong") is None
    assert await store.device_for("loom_wrong") is None
    assert len(asked) == 1
    store.evict()  # a change in the registry: ask again
    assert await store.device_for("loom_wrong") is None
    assert len(asked) == 2
