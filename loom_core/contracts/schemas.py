"""Versioned JSON Schemas generated from the pydantic contracts.

The committed files under ``schemas/`` are what other languages and contract tests
use; ``python -m loom_core.contracts.schemas`` rewrites them and a unit test fails
when they drift from the models.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

from loom_core.contracts.envelope import SCHEMA_VERSION
from loom_core.contracts.families import FAMILIES, Family

SCHEMA_DIR = Path(__file__).resolve().parent / "schemas"


def schema_path(fam: Family, version: int = SCHEMA_VERSION) -> Path:
    """Return the committed schema file of ``fam`` at ``version``."""
    return SCHEMA_DIR / f"{fam.name}.v{version}.json"


def generate(fam: Family) -> dict[str, Any]:
    """Return the JSON Schema of the Kafka message value of ``fam``."""
    schema = fam.model.model_json_schema(mode="serialization")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"https://loom.local/schemas/{fam.name}.v{SCHEMA_VERSION}.json",
        "x-topic": fam.topic.name,
        **schema,
    }


def render(schema: dict[str, Any]) -> str:
    """Serialise a schema the way it is committed (stable key order)."""
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"


@cache
def validator(family_name: str, version: int = SCHEMA_VERSION) -> Draft202012Validator:
    """Return a validator for the committed schema of a family."""
    path = schema_path(FAMILIES[family_name], version)
    return Draft202012Validator(json.loads(path.read_text()))


def write_all() -> list[Path]:
    """Regenerate every committed schema file and return their paths."""
    SCHEMA_DIR.mkdir(exist_ok=True)
    paths = []
    for fam in FAMILIES.values():
        path = schema_path(fam)
        path.write_text(render(generate(fam)))
        paths.append(path)
    return paths


if __name__ == "__main__":
    for written in write_all():
        print(written)  # noqa: T201
