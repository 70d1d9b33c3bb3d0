"""Trino Kafka table descriptions, generated from the event contracts.

Trino's Kafka connector needs a JSON file per table that maps message fields to
columns. They are derived here from the JSON Schema of each topic's pydantic
contract, so the live topics stay queryable with the same column names as the
TimescaleDB tables the events land in: ``kafka.raw.gps_data`` mirrors
``timescale.public.gps_data``, ``kafka.enriched.gps_tracks`` the enriched table.

The files are committed under ``deploy/trino/kafka-tables/`` (the local stack and
the Helm values read the same ones). After a contract changes, regenerate them with
``python -m loom_cli.analytics.kafka_tables``; a unit test fails while they drift.
The enriched contracts are the message models of the enrichment assets
(``loom_dagster.enrichment.messages``); while that module is not importable the
committed descriptions of the enriched topics are kept as they are.

Mapping, for the JSON decoder of Trino 476:

- ``string`` with ``format: date-time`` -> ``timestamp(3) with time zone`` (ISO 8601;
  the decoder keeps milliseconds), with ``format: date`` -> ``date``;
- ``integer`` -> ``bigint``, ``number`` -> ``double``, ``boolean`` -> ``boolean``,
  other strings (uuids, enums) -> ``varchar``;
- arrays and objects -> ``varchar`` holding the JSON text (``json_parse()`` it);
- a field that carries bytes (base64, at any depth) is a *hidden* column: it is not in
  ``SELECT *`` but can be selected by name (``from_base64(data)``).
"""

from __future__ import annotations

import importlib
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


# Fields the enrichment assets put around a row (``EnrichedRow.message()``):
# (name, Trino type, comment).
ENRICHED_ENVELOPE = (
    ("schema_version", "bigint", "Version of the enriched message schema"),
    ("op", "varchar", "upsert, or delete: the row with this id no longer exists"),
)
ENRICHED_CONTRACTS = "loom_dagster.enrichment.messages"


@dataclass(frozen=True)
class KafkaTable:
    """A topic as Trino sees it: where it is, and the contract of its messages.

    Parameters
    ----------
    table
        Table name; the TimescaleDB table the topic's events land in (or come from).
    topic
        The catalog topic; its stage gives the schema (``raw`` or ``enriched``).
    contract
        ``module:Class`` of the pydantic model of one message value.
    envelope
        Fields the producer adds around the model: (name, Trino type, comment).
    """

    table: str
    topic: topics.Topic
    contract: str
    envelope: tuple[tuple[str, str, str], ...] = ()

    @property
    def schema(self) -> str:
        """The Trino schema: the topic's stage."""
        return SCHEMA_OF_STAGE[self.topic.stage]

    @property
    def file_name(self) -> str:
        """Name of the committed description file."""
        return f"{self.schema}.{self.table}.json"

    def model(self) -> type[BaseModel] | None:
        """Return the contract's model, or None while its module does not exist."""
        module, _, name = self.contract.partition(":")
        try:
            return getattr(importlib.import_module(module), name)
        except ModuleNotFoundError as exc:
            if exc.name and module.startswith(exc.name):
                return None  # the module (or a package above it) is not there yet
            raise


def _path(model: type[BaseModel]) -> str:
    return f"{model.__module__}:{model.__qualname__}"


TABLES: tuple[KafkaTable, ...] = (
    *(KafkaTable(f.table, f.topic, _path(f.model)) for f in FAMILIES.values()),
    *(
        KafkaTable(table, topic, f"{ENRICHED_CONTRACTS}:{model}", ENRICHED_ENVELOPE)
        for table, topic, model in (
            ("gps_tracks", topics.GPS_TRACK_SEGMENTS, "TrackSegment"),
            ("transcripts", topics.TRANSCRIBED_WORDS, "Utterance"),
            ("captions", topics.IMAGE_CAPTIONS, "Caption"),
        )
    ),
)


def contract_tables() -> list[KafkaTable]:
    """Return the tables whose contract can be imported, in catalog order."""
    return [t for t in TABLES if t.model() is not None]


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
        formats = {"date-time": (TIMESTAMP, "iso8601"), "date": ("date", "iso8601")}
        return formats.get(node.get("format"), ("varchar", None))
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
    """Return the Trino table description of ``table`` (a JSON-serialisable dict).

    Raises
    ------
    LookupError
        When the table's contract cannot be imported.
    """
    model = table.model()
    if model is None:
        msg = f"the contract {table.contract} of {table.topic} is not importable"
        raise LookupError(msg)
    schema = model.model_json_schema(mode="serialization")
    defs = schema.get("$defs", {})
    envelope = [
        {"name": name, "type": kind, "mapping": name, "comment": comment}
        for name, kind, comment in table.envelope
    ]
    fields = [
        describe_field(name, node, defs)
        for name, node in schema.get("properties", {}).items()
    ]
    return {
        "tableName": table.table,
        "schemaName": table.schema,
        "topicName": table.topic.name,
        "message": {"dataFormat": "json", "fields": [*envelope, *fields]},
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
    """Rewrite the descriptions and the catalog's table list; return the paths.

    Descriptions of tables whose contract is not importable are kept as committed;
    any other file is removed.
    """
    generated = contract_tables()
    wanted = expected_files(generated)
    kept = [
        t for t in TABLES if t not in generated and (directory / t.file_name).exists()
    ]
    directory.mkdir(parents=True, exist_ok=True)
    for stale in directory.glob("*.json"):
        if stale.name not in wanted and stale.name not in {t.file_name for t in kept}:
            stale.unlink()
    paths = []
    for name, text in wanted.items():
        path = directory / name
        path.write_text(text)
        paths.append(path)
    listed = [t for t in TABLES if t in generated or t in kept]
    catalog.write_text(with_table_names(catalog.read_text(), listed))
    return [*paths, catalog]


if __name__ == "__main__":
    for written in write_all():
        print(written.relative_to(REPO_ROOT))  # noqa: T201
