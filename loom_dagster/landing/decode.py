"""Kafka message value -> contract event, or the reason it is poison.

A poison message is one that can never land, however often it is retried: not
JSON, JSON that breaks the family's contract, or a ``schema_version`` this Loom
does not know. It goes to the dead-letter topic; everything else lands.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from pydantic import ValidationError

from loom_core.contracts import SCHEMA_VERSION, DeviceEvent
from loom_core.contracts.ids import offset_event_id
from loom_dagster.landing.reader import KafkaMessage

MAX_ERRORS_SHOWN = 3
_STAMPED = frozenset({"event_id", "received_at"})  # set by the ingress


class PoisonReason(StrEnum):
    """Why a message went to the dead-letter topic."""

    NOT_JSON = "not_json"
    SCHEMA_INVALID = "schema_invalid"
    UNKNOWN_SCHEMA_VERSION = "unknown_schema_version"


@dataclass(frozen=True)
class Poison:
    """A message that cannot land, and why (``detail`` names the field)."""

    reason: PoisonReason
    detail: str


def _summary(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors()[:MAX_ERRORS_SHOWN]:
        where = ".".join(str(p) for p in error["loc"]) or "value"
        parts.append(f"{where}: {error['msg']}")
    more = exc.error_count() - MAX_ERRORS_SHOWN
    if more > 0:
        parts.append(f"and {more} more error(s)")
    return "; ".join(parts)


def classify(exc: ValidationError) -> Poison:
    """Return why a value that failed validation is poison."""
    errors = exc.errors()
    if any(e["type"] == "json_invalid" for e in errors):
        return Poison(PoisonReason.NOT_JSON, _summary(exc))
    version = next((e for e in errors if e["loc"] == ("schema_version",)), None)
    if version is not None:
        detail = (
            f"schema_version {version.get('input')!r} is not one this Loom lands "
            f"(known: {SCHEMA_VERSION})"
        )
        return Poison(PoisonReason.UNKNOWN_SCHEMA_VERSION, detail)
    return Poison(PoisonReason.SCHEMA_INVALID, _summary(exc))


def decode(
    model: type[DeviceEvent], message: KafkaMessage, topic: str
) -> DeviceEvent | Poison:
    """Validate the value of one Kafka message against ``model``.

    Returns the event, or a :class:`Poison` saying why it cannot land. Fields the
    ingress always stamps but a foreign producer may omit are made deterministic:
    a missing ``event_id`` is derived from the offset, a missing ``received_at``
    is the Kafka message timestamp.
    """
    value = message.value()
    if value is None:
        return Poison(PoisonReason.NOT_JSON, "message has no value (a tombstone)")
    try:
        # model_validate_json without its wrapper: this runs for every message.
        event = model.__pydantic_validator__.validate_json(value)
    except ValidationError as exc:
        return classify(exc)
    given = event.__pydantic_fields_set__
    if given >= _STAMPED:
        return event
    updates: dict[str, object] = {}
    if "event_id" not in given:
        updates["event_id"] = offset_event_id(
            topic, message.partition(), message.offset()
        )
    if "received_at" not in given:
        kind, timestamp_ms = message.timestamp()
        if kind:  # not TIMESTAMP_NOT_AVAILABLE
            updates["received_at"] = datetime.fromtimestamp(timestamp_ms / 1000, UTC)
    return event.model_copy(update=updates)
