"""What a device posts, derived from the contracts, and how it becomes an event.

A request body is the family's contract without what the ingress stamps itself:
``received_at`` and ``schema_version`` are left out, ``device_id`` defaults to the
device of the API key and ``event_id`` to an id derived from the content (so a
retried POST lands once). The input models are generated from the contract
models, so a field is declared in one place only.
"""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import Annotated, Any, Literal, Union
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, SkipValidation, create_model

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
    family: Family, payload: BaseModel, device_id: str, received_at: datetime
) -> DeviceEvent:
    """Return the contract event for a validated request ``payload``.

    Raises
    ------
    DeviceMismatchError
        When the payload names another device than ``device_id``.
    pydantic.ValidationError
        When the contract's own checks (e.g. whole audio samples) fail.
    """
    data = payload.model_dump(exclude_unset=True, exclude={"family"})
    named = data.pop("device_id", None)
    if named is not None and named != device_id:
        raise DeviceMismatchError(named, device_id)
    if data.get("event_id") is None:
        content = payload.model_dump_json(exclude={"event_id", "device_id", "family"})
        data["event_id"] = content_id(device_id, family.name, content)
    data["device_id"] = device_id
    data["received_at"] = received_at
    return family.model.model_validate(data)
