"""Request bodies read by the routes themselves (the hot paths), and their docs."""

from __future__ import annotations

import json
from typing import Any

from fastapi import Request

from ingest_api.errors import one_invalid


async def json_body(request: Request) -> Any:
    """Return the request's JSON, or raise a 422 that says what is wrong with it."""
    body = await request.body()
    if not body.strip():
        raise one_invalid(["body"], "the body is empty; send a JSON object")
    try:
        return json.loads(body)
    except json.JSONDecodeError as exc:
        raise one_invalid(["body"], f"the body is not valid JSON: {exc}") from None
    except UnicodeDecodeError:
        raise one_invalid(["body"], "the body is not UTF-8 JSON") from None


def json_request(schema_name: str) -> dict[str, Any]:
    """Return ``openapi_extra`` documenting a JSON body of a components schema."""
    return {
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {"$ref": f"#/components/schemas/{schema_name}"}
                }
            },
        }
    }
