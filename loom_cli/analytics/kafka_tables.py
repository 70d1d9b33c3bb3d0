"""Trino Kafka table descriptions, generated from the event contracts.

Trino's Kafka connector needs a JSON file per table that maps message fields to
columns. They are derived here from the JSON Schema of each topic's pydantic
contract, so the live topics stay queryable with the same column names as the
TimescaleDB tables the events land in: ``kafka.raw.gps_data`` mirrors
``timescale.public.gps_data``, ``kafka.enriched.<table>`` its enriched table.

The files are committed under ``deploy/trino/kafka-tables/`` (the local stack and
the Helm values read the same ones). After a contract changes, regenerate them with
``python -m loom_cli.analytics.kafka_tables``; a unit test fails while they drift.

Mapping, for the JSON decoder of Trino 476:

- ``string`` with ``format: date-time`` -> ``timestamp(3) with time zone`` (ISO 8601;
  the decoder keeps milliseconds);
- ``integer`` -> ``bigint``, ``number`` -> ``double``, ``boolean`` -> ``boolean``,
  other strings (uuids, enums) -> ``varchar``;
- arrays and objects -> ``varchar`` holding the JSON text (``json_parse()`` it);
- a field that carries bytes (base64, at any depth) is a *hidden* column: it is not in
  ``SELECT *`` but can be selected by name (``from_base64(data)``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from loom_core import topics
from loom_core.contracts import FAMILIES
from loom_core.settings import REPO_ROOT

TABLES_DIR = REPO_ROOT / "deploy" / "trino" / "kafka-tables"
CATALOG_FILE = REPO_ROOT / "deploy" / "trino" / "catalog" / "kafka.properties"
TABLE_NAMES = "kafka.table-names="
SCHEMA_OF_STAGE = {topics.Stage.RAW: "raw", topics.Stage.ENRICHED: "enriched"}
TIMESTAMP = "timestamp(3) with time zone"
JsonSchema = Mapping[str, Any]


@dataclass(frozen=True)
class KafkaTable:
    """A topic as Trino sees it: where it is, and the contract of its messages.

    Parameters
    ----------
    table
        Table name; the TimescaleDB table the topic's events land in (or come from).
    topic
        The catalog topic; its stage gives the schema (``raw`` or ``enriched``).
    model
        The pydantic contract of one message value.
    """

    table: str
    topic: topics.Topic
    model: type[BaseModel]

    @property
    def schema(self) -> str:
        """The Trino schema: the topic's stage."""
        return SCHEMA_OF_STAGE[self.topic.stage]

    @property
    def file_name(self) -> str:
        """Name of the committed description file."""
        return f"{self.schema}.{self.table}.json"


def contract_tables() -> list[KafkaTable]:
    """Return a table for every raw topic with a contract, in catalog order."""
    return [KafkaTable(fam.table, fam.topic, fam.model) for fam in FAMILIES.values()]


def _resolve(node: JsonSchema, defs: JsonSchema) -> JsonSchema:
    ref = node.get("$ref")
    if ref is None:
        return node
    return _resolve(defs[ref.rsplit("/", 1)[-1]], defs)


def _without_null(node: JsonSchema, defs: JsonSchema) -> JsonSchema:
    """Return the non-null branch of an ``anyOf: [X, null]`` (or ``node`` itself)."""
    node = _resolve(node, defs)
    branches = [b for b in node.get("anyOf", ()) if b.get("type") != "null"]
    if len(branches) == 1:
        return _resolve(branches[0], defs)
    return node


def carries_bytes(node: JsonSchema, defs: JsonSchema) -> bool:
    """Return True when ``node`` holds base64 bytes, directly or nested."""
    node = _resolve(node, defs)
    if node.get("contentEncoding") == "base64":
        return True
    children: list[JsonSchema] = [
        *node.get("anyOf", ()),
        *node.get("properties", {}).values(),
    ]
    if isinstance(node.get("items"), Mapping):
        children.append(node["items"])
    return any(carries_bytes(child, defs) for child in children)


def column_type(node: JsonSchema, defs: JsonSchema) -> tuple[str, str | None]:
    """Return the Trino type of a field and the decoder's data format, if any.

    Raises
    ------
    ValueError
        For a JSON Schema type the mapping does not know (say which to add).
    """
    node = _without_null(node, defs)
    kind = node.get("type")
    if kind is None and "const" in node:
        kind = {bool: "boolean", int: "integer", float: "number"}.get(
            type(node["const"]), "string"
        )
    if kind == "string":
        if node.get("format") == "date-time":
            return TIMESTAMP, "iso8601"
        return "varchar", None
    simple = {"integer": "bigint", "number": "double", "boolean": "boolean"}
    if kind in simple:
        return simple[kind], None
    if kind in {"array", "object"} or "anyOf" in node:
        return "varchar", None
    msg = f"no Trino type for JSON Schema {dict(node)!r}; extend column_type()"
    raise ValueError(msg)


def _comment(node: JsonSchema, defs: JsonSchema, *, json_text: bool) -> str:
    resolved = _without_null(node, defs)
    parts = [node.get("description") or resolved.get("description") or ""]
    if json_text:
        parts.append("JSON text (json_parse() it)")
    if carries_bytes(node, defs):
        parts.append("hidden: holds base64 bytes, select it by name")
    return "; ".join(p.rstrip(".") for p in parts if p)


def describe_field(name: str, node: JsonSchema, defs: JsonSchema) -> dict[str, Any]:
    """Return the Trino field description of one top-level message field."""
    trino_type, data_format = column_type(node, defs)
    resolved = _without_null(node, defs)
    json_text = resolved.get("type") in {"array", "object"}
    field: dict[str, Any] = {"name": name, "type": trino_type, "mapping": name}
    if data_format:
        field["dataFormat"] = data_format
    comment = _comment(node, defs, json_text=json_text)
    if comment:
        field["comment"] = comment
    if carries_bytes(node, defs):
        field["hidden"] = True
    return field


def describe(table: KafkaTable) -> dict[str, Any]:
    """Return the Trino table description of ``table`` (a JSON-serialisable dict)."""
    schema = table.model.model_json_schema(mode="serialization")
    defs = schema.get("$defs", {})
    fields = [
        describe_field(name, node, defs)
        for name, node in schema.get("properties", {}).items()
    ]
    return {
        "tableName": table.table,
        "schemaName": table.schema,
        "topicName": table.topic.name,
        "message": {"dataFormat": "json", "fields": fields},
    }


def render(description: Mapping[str, Any]) -> str:
    """Serialise a description the way it is committed."""
    return json.dumps(description, indent=2) + "\n"


def expected_files(tables: Iterable[KafkaTable]) -> dict[str, str]:
    """Return ``{file name: content}`` of every description that should exist."""
    return {t.file_name: render(describe(t)) for t in tables}


def with_table_names(catalog: str, tables: Iterable[KafkaTable]) -> str:
    """Return the catalog file text with its ``kafka.table-names`` line filled in.

    The connector serves only the tables that line lists, whatever the folder of
    descriptions holds, so the list is generated with the descriptions.

    Raises
    ------
    ValueError
        When the catalog has no ``kafka.table-names=`` line to fill.
    """
    names = ",".join(f"{t.schema}.{t.table}" for t in tables)
    lines = catalog.splitlines(keepends=True)
    for i, line in enumerate(lines):
        if line.startswith(TABLE_NAMES):
            lines[i] = f"{TABLE_NAMES}{names}\n"
            return "".join(lines)
    msg = f"the Kafka catalog has no {TABLE_NAMES!r} line to fill"
    raise ValueError(msg)


def write_all(directory: Path = TABLES_DIR, catalog: Path = CATALOG_FILE) -> list[Path]:
    """Rewrite the descriptions (removing stale ones) and the catalog's table list."""
    tables = contract_tables()
    wanted = expected_files(tables)
    directory.mkdir(parents=True, exist_ok=True)
    for stale in directory.glob("*.json"):
        if stale.name not in wanted:
            stale.unlink()
    paths = []
    for name, text in wanted.items():
        path = directory / name
        path.write_text(text)
        paths.append(path)
    catalog.write_text(with_table_names(catalog.read_text(), tables))
    return [*paths, catalog]


if __name__ == "__main__":
    for written in write_all():
        print(written.relative_to(REPO_ROOT))  # noqa: T201
