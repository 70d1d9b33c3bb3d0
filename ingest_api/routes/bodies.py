"""How the bodies the routes read themselves are documented in OpenAPI.

They are parsed by :func:`ingest_api.json_body.read_json`.
"""

from __future__ import annotations

from typing import Any


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
