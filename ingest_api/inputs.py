"""What a device posts, and how it becomes a contract event.

Two kinds of models, both generated from the contracts (a field is declared once):

- *Documentation* models, shown in ``/docs``: :func:`input_model` is a family's
  contract without what the ingress stamps itself (``received_at``,
  ``schema_version``, a camera frame's ``pairing``), with ``device_id`` (default:
  the key's device) and ``event_id`` (default: derived from the content)
  optional; :data:`EventBatch` holds up to 1,000 of them, each with its
  ``family``.
- *Validation* models: :func:`item_model` subclasses the contract itself (same
  fields, same checks, same JSON) adding ``family`` (the batch discriminator,
  never serialised) and making the stamped fields optional. A whole batch is
  parsed and validated in one pass straight from the request bytes, strictly (a
  number is not a string or a boolean); only when that fails is it taken apart
  item by item to say which items are wrong and why.

:func:`finish` then refuses stamped fields a client set, checks the device,
stamps ``device_id`` and ``received_at``, and derives the ``event_id`` of an event
that has none from its content, so a retried POST lands once downstream.
"""

from __future__ import annotations

import json
from datetime import datetime
from functools import cache
from typing import Annotated, Any, Literal, Union
from uuid import UUID

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SkipValidation,
    TypeAdapter,
    ValidationError,
    create_model,
)
from pydantic.json_schema import models_json_schema
from pydantic_core import PydanticCustomError

from ingest_api.json_body import parse_json
from loom_core.contracts import FAMILIES, DeviceEvent, Family
from loom_core.contracts.envelope import DeviceId, UtcDatetime
from loom_core.contracts.ids import content_id

MAX_BATCH = 1_000
STAMPED = frozenset({"received_at", "schema_version"})
# The ingress decides how a frame was paired; a client only says what it sent.
DECIDED = {"camera": frozenset({"pairing"})}
_NOT_CONTENT = {"event_id", "received_at"}  # a set: pydantic takes it fastest


class DeviceMismatchError(Exception):
    """An event names another device than the one its API key belongs to."""

    def __init__(self, named: str, device_id: str) -> None:
        super().__init__(
            f"this API key belongs to device {device_id!r}, not {named!r}; "
            "leave device_id out or use the key of that device"
        )


ItemError = DeviceMismatchError | ValidationError
"""Why a batch item is not an event (403 or 422)."""


# -- documentation models ------------------------------------------------------------
@cache
def input_model(family: Family) -> type[BaseModel]:
    """Return the documented request body of ``family`` (e.g. ``GpsFixIn``)."""
    left_out = STAMPED | DECIDED.get(family.name, frozenset())
    fields: dict[str, Any] = {
        name: (info.annotation, info)
        for name, info in family.model.model_fields.items()
        if name not in left_out
    }
    fields["device_id"] = (
        DeviceId | None,
        Field(default=None, description="Defaults to the device of the API key"),
    )
    fields["event_id"] = (
        UUID | None,
        Field(
            default=None,
            description="Idempotency key; derived from the content when left out",
        ),
    )
    return create_model(
        f"{family.model.__name__}In",
        __config__=ConfigDict(extra="forbid", allow_inf_nan=False),
        __doc__=family.model.__doc__,
        **fields,
    )


@cache
def batch_item_model(family: Family) -> type[BaseModel]:
    """Return the documented batch item of ``family``: its input plus ``family``."""
    return create_model(
        f"{family.model.__name__}BatchItem",
        __base__=input_model(family),
        family=(Literal[family.name], Field(description="The event family")),  # type: ignore[valid-type]
    )


def _documented_batch() -> type[BaseModel]:
    items = tuple(batch_item_model(f) for f in FAMILIES.values())
    item = Annotated[Union[items], Field(discriminator="family")]  # type: ignore[valid-type]  # noqa: UP007
    return create_model(
        "EventBatch",
        __config__=ConfigDict(extra="forbid"),
        __doc__=f"Up to {MAX_BATCH} events of any families, each with its `family`.",
        # Items are checked one by one (parse_batch), so that one bad item gets its
        # own error instead of failing the batch; the schema documents them.
        events=(
            Annotated[
                list[SkipValidation[item]],  # type: ignore[valid-type]
                Field(min_length=1, max_length=MAX_BATCH),
            ],
            ...,
        ),
    )


EventBatch = _documented_batch()


def request_schemas() -> dict[str, Any]:
    """Return the JSON Schemas of the request bodies, for the OpenAPI components.

    The event routes read their bodies themselves, so FastAPI does not collect
    these models on its own.
    """
    models = [input_model(f) for f in FAMILIES.values()] + [EventBatch]
    _, top = models_json_schema(
        [(model, "validation") for model in models],
        ref_template="#/components/schemas/{model}",
    )
    return top["$defs"]


# -- validation models ---------------------------------------------------------------
@cache
def item_model(family: Family) -> type[DeviceEvent]:
    """Return the contract of ``family`` as the ingress parses it (see module doc)."""
    return create_model(  # type: ignore[return-value]
        f"{family.model.__name__}Item",
        __base__=family.model,
        family=(Literal[family.name], Field(default=family.name, exclude=True)),  # type: ignore[valid-type]
        device_id=(DeviceId | None, None),
        event_id=(UUID | None, None),
        received_at=(UtcDatetime | None, None),
    )


class _Batch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    events: Annotated[
        list[
            Annotated[
                Union[tuple(item_model(f) for f in FAMILIES.values())],  # type: ignore[valid-type]  # noqa: UP007
                Field(discriminator="family"),
            ]
        ],
        Field(min_length=1, max_length=MAX_BATCH),
    ]


_BATCH = TypeAdapter(_Batch)


def finish(
    family: Family,
    item: DeviceEvent,
    device_id: str,
    received_at: datetime,
    *,
    refused: frozenset[str] = frozenset(),
) -> DeviceEvent:
    """Stamp a validated item into the event that goes to Kafka, and return it.

    Raises
    ------
    DeviceMismatchError
        When the item names another device than ``device_id``.
    pydantic.ValidationError
        When the client set a field the ingress sets (or one in ``refused``).
    """
    stamped = (STAMPED | DECIDED.get(family.name, frozenset()) | refused).intersection(
        item.model_fields_set
    )
    if stamped:
        raise _set_by_ingress(family, sorted(stamped))
    if item.device_id is not None and item.device_id != device_id:
        raise DeviceMismatchError(item.device_id, device_id)
    # The values are valid already: plain assignments (no validate_assignment).
    item.device_id = device_id
    item.received_at = received_at
    if item.event_id is None:
        # The model's own serializer: model_dump_json() without the str round trip.
        content = item.__pydantic_serializer__.to_json(item, exclude=_NOT_CONTENT)
        item.event_id = content_id(device_id, family.name, content)
    return item


def parse_event(
    family: Family, body: bytes, device_id: str, received_at: datetime
) -> DeviceEvent:
    """Return the event of a single-event request body.

    Raises
    ------
    DeviceMismatchError
        When the body names another device than ``device_id``.
    pydantic.ValidationError
        When the body is not JSON or breaks the contract.
    """
    item = item_model(family).model_validate_json(body, strict=True)
    # `family` belongs to batch items only.
    return finish(family, item, device_id, received_at, refused=frozenset({"family"}))


def parse_batch(
    body: bytes, device_id: str, received_at: datetime
) -> list[tuple[Family, DeviceEvent] | ItemError]:
    """Return an event, or why there is none, for each item of a batch body.

    Raises
    ------
    pydantic.ValidationError
        When the body is not a batch at all (no ``events`` list, too many
        events): no item can be answered then.
    ingest_api.json_body.JsonLimitError
        When it is not JSON, or breaks a limit of the JSON parser.
    """
    try:
        items = _BATCH.validate_json(body, strict=True).events
    except ValidationError:
        return _parse_items(parse_json(body), device_id, received_at)
    results: list[tuple[Family, DeviceEvent] | ItemError] = []
    for item in items:
        family = FAMILIES[item.family]  # type: ignore[attr-defined]
        try:
            results.append((family, finish(family, item, device_id, received_at)))
        except (DeviceMismatchError, ValidationError) as exc:
            results.append(exc)
    return results


def _parse_items(
    data: object, device_id: str, received_at: datetime
) -> list[tuple[Family, DeviceEvent] | ItemError]:
    """Check a batch item by item (the slow path, for batches with errors)."""
    batch = EventBatch.model_validate(data)
    results: list[tuple[Family, DeviceEvent] | ItemError] = []
    for item in batch.events:
        name = item.get("family") if isinstance(item, dict) else None
        if not isinstance(name, str) or name not in FAMILIES:
            results.append(_not_a_family(item))
            continue
        family = FAMILIES[name]
        try:
            # The same strict JSON rules as the fast path (a number is no string).
            parsed = item_model(family).model_validate_json(
                json.dumps(item), strict=True
            )
            results.append((family, finish(family, parsed, device_id, received_at)))
        except (DeviceMismatchError, ValidationError) as exc:
            results.append(exc)
    return results


def _not_a_family(item: object) -> ValidationError:
    known = ", ".join(sorted(FAMILIES))
    if not isinstance(item, dict):
        loc: tuple[str, ...] = ()
        message = "each event is a JSON object with a 'family'"
    else:
        loc, message = ("family",), f"must be one of: {known}"
    return ValidationError.from_exception_data(
        "BatchItem",
        [{"type": PydanticCustomError("family", message), "loc": loc, "input": None}],
    )


def _set_by_ingress(family: Family, names: list[str]) -> ValidationError:
    return ValidationError.from_exception_data(
        family.model.__name__,
        [
            {
                "type": PydanticCustomError(
                    "set_by_ingress",
                    "is set by the ingress (or not expected here); leave it out",
                ),
                "loc": (name,),
                "input": None,
            }
            for name in names
        ],
    )
