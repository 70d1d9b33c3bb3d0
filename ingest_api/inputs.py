"""What a device posts, derived from the contracts, and how it becomes an event.

A request body is the family's contract without what the ingress stamps itself:
``received_at`` and ``schema_version`` are left out, ``device_id`` defaults to the
device of the API key and ``event_id`` to an id derived from the content (so a
retried POST lands once). The input models are generated from the contract
models, so a field is declared in one place only.
"""

from __future__ import annotations

from collections.abc import Sequence
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
from pydantic_core import PydanticCustomError

from ingest_api.event_ids import content_id
from loom_core.contracts import FAMILIES, DeviceEvent, Family
from loom_core.contracts.envelope import DeviceId

MAX_BATCH = 1_000
STAMPED = frozenset({"received_at", "schema_version"})
# The ingress decides how a frame was paired; a client only says what it sent.
DECIDED = {"camera": frozenset({"pairing"})}


class DeviceMismatchError(Exception):
    """An event names another device than the one its API key belongs to."""

    def __init__(self, named: str, device_id: str) -> None:
        super().__init__(
            f"this API key belongs to device {device_id!r}, not {named!r}; "
            "leave device_id out or use the key of that device"
        )


@cache
def input_model(family: Family) -> type[BaseModel]:
    """Return the request body model of ``family`` (e.g. ``GpsFixIn``)."""
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
    """Return the model of one batch item of ``family``: its input plus ``family``."""
    return create_model(
        f"{family.model.__name__}Item",
        __base__=input_model(family),
        family=(Literal[family.name], Field(description="The event family")),  # type: ignore[valid-type]
    )


def _batch_model() -> type[BaseModel]:
    items = tuple(batch_item_model(f) for f in FAMILIES.values())
    item = Annotated[Union[items], Field(discriminator="family")]  # type: ignore[valid-type]  # noqa: UP007
    return create_model(
        "EventBatch",
        __config__=ConfigDict(extra="forbid"),
        __doc__=f"Up to {MAX_BATCH} events of any families, each with its `family`.",
        # Items are validated one by one by the route, so that one bad item gets
        # its own error instead of failing the whole batch; the schema documents them.
        events=(
            Annotated[
                list[SkipValidation[item]],  # type: ignore[valid-type]
                Field(min_length=1, max_length=MAX_BATCH),
            ],
            ...,
        ),
    )


EventBatch = _batch_model()


def to_event(
    family: Family, data: dict[str, Any], device_id: str, received_at: datetime
) -> DeviceEvent:
    """Return the contract event for the fields a client sent (``family`` aside).

    Raises
    ------
    DeviceMismatchError
        When the data names another device than ``device_id``.
    pydantic.ValidationError
        When a field breaks the contract or is one the ingress sets.
    """
    (event,) = to_events(family, [data], device_id, received_at)
    if isinstance(event, Exception):
        raise event
    return event


def to_events(
    family: Family,
    items: Sequence[dict[str, Any]],
    device_id: str,
    received_at: datetime,
) -> list[DeviceEvent | DeviceMismatchError | ValidationError]:
    """Return the contract event, or why there is none, for each item of a family.

    Validates with the contract model itself, all items in one call (the common
    case of a batch is all valid). An item without an ``event_id`` gets one
    derived from the validated event, so equal events written differently (e.g.
    in another time zone) get the same id.
    """
    results: list[DeviceEvent | DeviceMismatchError | ValidationError | None]
    results = [None] * len(items)
    ready: list[dict[str, Any]] = []
    positions: list[int] = []
    for position, data in enumerate(items):
        try:
            ready.append(_stamped(family, data, device_id, received_at))
        except (DeviceMismatchError, ValidationError) as exc:
            results[position] = exc
        else:
            positions.append(position)
    for position, event in zip(positions, _validate(family, ready)):
        if isinstance(event, DeviceEvent) and event.event_id == _PENDING_ID:
            content = event.__pydantic_serializer__.to_json(event, exclude=_NOT_CONTENT)
            event.event_id = content_id(device_id, family.name, content)
        results[position] = event
    return results  # type: ignore[return-value]


_PENDING_ID = UUID(int=0)  # replaced by the derived id once the event is valid
_NOT_CONTENT = frozenset({"event_id", "received_at"})


def _stamped(
    family: Family, data: dict[str, Any], device_id: str, received_at: datetime
) -> dict[str, Any]:
    decided = STAMPED | DECIDED.get(family.name, frozenset())
    if not decided.isdisjoint(data):
        raise _set_by_ingress(family, sorted(decided.intersection(data)))
    named = data.get("device_id")
    if named is not None and named != device_id:
        raise DeviceMismatchError(named, device_id)
    return {
        **data,
        "device_id": device_id,
        "received_at": received_at,
        "event_id": data.get("event_id") or _PENDING_ID,
    }


@cache
def _adapter(family: Family) -> TypeAdapter[list[DeviceEvent]]:
    return TypeAdapter(list[family.model])  # type: ignore[name-defined]


def _validate(
    family: Family, ready: list[dict[str, Any]]
) -> list[DeviceEvent | ValidationError]:
    if not ready:
        return []
    try:
        return list(_adapter(family).validate_python(ready))
    except ValidationError:
        pass  # some item is invalid: find which, one by one
    events: list[DeviceEvent | ValidationError] = []
    for data in ready:
        try:
            events.append(family.model.model_validate(data))
        except ValidationError as exc:
            events.append(exc)
    return events


def _set_by_ingress(family: Family, names: list[str]) -> ValidationError:
    return ValidationError.from_exception_data(
        family.model.__name__,
        [
            {
                "type": PydanticCustomError(
                    "set_by_ingress", "is set by the ingress; leave it out"
                ),
                "loc": (name,),
                "input": None,
            }
            for name in names
        ],
    )
