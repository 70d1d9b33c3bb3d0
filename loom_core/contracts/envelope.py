"""The envelope every device event carries, whatever its family."""

from __future__ import annotations

import base64
import binascii
import time
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Annotated, Literal
from uuid import UUID, uuid4

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    StringConstraints,
    WithJsonSchema,
)
from pydantic_core import TzInfo

SCHEMA_VERSION = 1
MAX_CLOCK_SKEW = timedelta(days=1)

DeviceId = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$"),
    Field(description="Stable id of the device, also the Kafka message key"),
]


def is_partition_key(device_id: str) -> bool:
    """Whether ``device_id`` can name a Dagster partition, so enrichment runs for it.

    The one rule landing, the enrichment sensors and ``loom devices add`` share. Of
    what Dagster refuses in a partition key, the :data:`DeviceId` pattern already
    leaves out control characters and the ``|`` of multi-partition keys; ``...``
    remains.
    """
    return "..." not in device_id


def utc_now() -> datetime:
    """Return the current time as an aware UTC datetime."""
    return datetime.now(UTC)


# These validators run for every event the ingress accepts and every message a
# landing run decodes (bench/landing_breakdown.py): the clock is read once a
# second, and a time that is UTC already is neither copied nor converted.
_FUTURE_REFRESH_S = 1.0
_ZERO = timedelta(0)
# (limit, its time zone, valid until); see _latest_allowed.
_future_limit = (datetime.min.replace(tzinfo=UTC), UTC, 0.0)


def _to_utc(value: datetime) -> datetime:
    zone = value.tzinfo
    # pydantic-core parses "Z" and "+00:00" to one shared fixed-offset TzInfo:
    # such a time is UTC as it is (converting copied every timestamp).
    if zone is UTC or (type(zone) is TzInfo and zone.utcoffset(None) == _ZERO):
        return value
    try:
        return value.astimezone(UTC)
    except OverflowError:  # e.g. 0001-01-01T00:00:00+01:00
        msg = "is out of range once converted to UTC"
        raise ValueError(msg) from None


def _latest_allowed(zone: tzinfo) -> datetime:
    """Return now plus the clock skew allowed, expressed in ``zone`` (a UTC zone).

    The clock is read once a second. In the zone of the time it is compared with,
    the comparison is of the fields alone, without asking either zone its offset.
    """
    global _future_limit  # noqa: PLW0603 - a one-second cache of the clock
    limit, limit_zone, until = _future_limit
    now = time.monotonic()
    if now >= until or limit_zone is not zone:
        limit = (utc_now() + MAX_CLOCK_SKEW).replace(tzinfo=zone)
        _future_limit = (limit, zone, now + _FUTURE_REFRESH_S)
    return limit


def _utc_not_in_future(value: datetime) -> datetime:
    value = _to_utc(value)
    if value > _latest_allowed(value.tzinfo):  # type: ignore[arg-type]
        msg = "is more than a day in the future; check the device clock"
        raise ValueError(msg)
    return value


def _from_base64(value: object) -> object:
    if isinstance(value, str):
        try:
            return base64.b64decode(value, validate=True)
        except binascii.Error as exc:
            msg = f"is not valid base64 ({exc})"
            raise ValueError(msg) from None
    return value


Base64Bytes = Annotated[
    bytes,
    BeforeValidator(_from_base64),
    PlainSerializer(
        lambda data: base64.b64encode(data).decode("ascii"),
        return_type=str,
        when_used="json",
    ),
    WithJsonSchema({"type": "string", "contentEncoding": "base64"}),
]
"""Raw bytes in Python, a base64 string in JSON (the Kafka value and the API)."""

UtcDatetime = Annotated[AwareDatetime, AfterValidator(_to_utc)]
RecordedAt = Annotated[AwareDatetime, AfterValidator(_utc_not_in_future)]
"""A UTC instant no more than :data:`MAX_CLOCK_SKEW` ahead of this clock."""


class Contract(BaseModel):
    """Base for every DTO in the contracts: strict about unknown fields and NaN."""

    model_config = ConfigDict(
        extra="forbid",
        allow_inf_nan=False,
        json_schema_serialization_defaults_required=True,
    )


class DeviceEvent(Contract):
    """Fields common to every raw event on a ``device.*.raw`` topic.

    ``event_id`` is the dedup key downstream: clients may send their own (a replay
    then lands once), otherwise the ingress generates or derives one.
    ``received_at`` is always stamped by the ingress.
    """

    schema_version: Literal[1] = Field(
        default=SCHEMA_VERSION, description="Version of this family's JSON Schema"
    )
    event_id: UUID = Field(default_factory=uuid4, description="Idempotency key")
    device_id: DeviceId
    recorded_at: RecordedAt = Field(description="Device time of the event, UTC")
    received_at: UtcDatetime = Field(
        default_factory=utc_now, description="When the ingress accepted it, UTC"
    )
