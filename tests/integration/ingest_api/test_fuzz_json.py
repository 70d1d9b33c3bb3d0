"""Hostile JSON and query values to every route of the served API's OpenAPI schema.

Whatever a route is sent (nested thousands deep, integers of thousands of digits,
floats past the largest double, bytes that are not UTF-8, a megabyte string), it
answers 4xx, never 5xx, and the server's log holds no traceback and no key.
"""

import httpx
import pytest

from tests.integration.ingest_api.conftest import register

BODIES: dict[str, bytes] = {
    "deep-array": b"[" * 10_000 + b"]" * 10_000,
    "deep-object": b'{"a":' * 5_000 + b"1" + b"}" * 5_000,
    "deep-in-events": b'{"events": [' + b"[" * 3_000 + b"]" * 3_000 + b"]}",
    "long-int": b'{"latitude": ' + b"7" * 5_000 + b"}",
    "int-overflowing-float": b'{"lat": ' + b"9" * 400 + b', "lon": 1, "tst": 1}',
    "huge-float": b'{"lat": 1e400, "lon": -1e400}',
    "nan": b'{"lat": NaN, "lon": Infinity}',
    "not-utf8": b'{"lat": "\xff\xfe"}',
    "lone-surrogate": b'{"lat": "\\ud800"}',
    "megabyte-string": b'{"x": "' + b"a" * 1_000_000 + b'"}',
    "wide-array": b"[" + b"0," * 200_000 + b"0]",
    "top-level-number": b"1" * 100,
    "empty": b"",
    "truncated": b'{"events": [{"family": "gps", "recorded_at": ',
    "batch-of-junk": b'{"events": [' + b'{"family": 1e999},' * 1_000 + b"{}]}",
}
QUERIES: dict[str, dict[str, str]] = {
    "huge-numbers": {"lat": "1" * 5_000, "lon": "1e400", "timestamp": "9" * 400},
    "speeds": {"lat": "1", "lon": "2", "timestamp": "1700000000", "speed": "1e308"},
    "not-numbers": {"lat": "nan", "lon": "inf", "timestamp": "\u00e9", "batt": "-0"},
    "long-values": {"id": "x" * 10_000, "sample_rate": "1" * 400},
}
PATH_VALUES = {"family": "gps"}


@pytest.fixture(scope="module")
def fuzzer(served_api, settings):
    return register(settings.database_url, "fuzzer")


@pytest.fixture(scope="module")
def operations(served_api) -> list[tuple[str, str, bool]]:
    """Every (method, path template, takes a body) of the OpenAPI schema."""
    schema = httpx.get(f"{served_api.base}/openapi.json", timeout=30).json()
    found = []
    for path, methods in schema["paths"].items():
        for method, operation in methods.items():
            found.append((method.upper(), path, "requestBody" in operation))
    assert len(found) > 15  # the families, the apps, uploads, health
    return found


def _fill(path: str, api: httpx.Client, headers: dict[str, str]) -> str:
    if "{file_id}" in path:
        started = api.post(
            "/v1/uploads",
            json={"content_type": "audio/wav", "recorded_at": "2024-01-01T00:00:00Z"},
            headers=headers,
        )
        path = path.replace("{file_id}", started.json()["file_id"])
    for name, value in PATH_VALUES.items():
        path = path.replace(f"{{{name}}}", value)
    return path


def test_no_route_answers_hostile_json_with_a_5xx(served_api, fuzzer, operations):
    headers = fuzzer.headers
    failures = []
    with httpx.Client(base_url=served_api.base, timeout=60) as api:
        for method, template, _ in operations:
            if method not in {"POST", "PUT", "PATCH"}:
                continue
            for name, body in BODIES.items():
                path = _fill(template, api, headers)
                response = api.request(
                    method,
                    path,
                    content=body,
                    headers={
                        **headers,
                        "Content-Type": "application/json",
                        "Upload-Offset": "0",
                    },
                )
                if response.status_code >= 500:
                    failures.append((method, template, name, response.status_code))
    assert not failures


def test_no_route_answers_hostile_queries_with_a_5xx(served_api, fuzzer, operations):
    failures = []
    with httpx.Client(base_url=served_api.base, timeout=60) as api:
        for method, template, _ in operations:
            path = _fill(template, api, fuzzer.headers)
            for name, query in QUERIES.items():
                # The key in the query too: it must not reach the log either.
                params = {**query, "key": fuzzer.key}
                response = api.request(method, path, params=params)
                if response.status_code >= 500:
                    failures.append((method, template, name, response.status_code))
    assert not failures


def test_the_log_holds_no_traceback_and_no_key(served_api, fuzzer):
    text = served_api.log_text()
    assert "Traceback" not in text
    assert fuzzer.key not in text
    assert "key=***" in text  # the query keys were logged, masked
