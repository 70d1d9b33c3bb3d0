"""OsmAnd live tracking and Traccar Client: the "OsmAnd protocol".

Classic form: GET or POST, query or form ``id``, ``lat``, ``lon`` (or
``location=lat,lon``), ``timestamp`` (epoch s, epoch ms or ISO), ``speed`` in
knots (or ``spd`` in m/s, for the OsmAnd app's own placeholder), ``bearing`` (or ``heading``), ``altitude``, ``accuracy``, ``batt`` (percent).
Traccar Client 9+ posts JSON instead: ``{"device_id", "location": {"timestamp",
"coords": {...}, "battery": {"level": 0-1}}}`` with speed in m/s.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import Field, model_validator

from ingest_api.compat.fixes import MAX_POINTS, AppMessage, Point, parse
from ingest_api.compat.units import (
    Fraction,
    Knots,
    Known,
    Number,
    OptionalNumber,
    Percent,
    Speed,
    Time,
    number,
)

SOURCE = "osmand"
TRACCAR_SOURCE = "traccar"
NAMES = {
    "latitude": "lat",
    "longitude": "lon",
    "recorded_at": "timestamp",
    "accuracy_m": "accuracy",
    "altitude_m": "altitude",
    "speed_mps": "speed",
    "battery_level": "batt",
    "bearing_deg": "bearing",
}
TRACCAR_NAMES: dict[str, str | tuple[str | int, ...]] = {
    "latitude": ("location", "coords", "latitude"),
    "longitude": ("location", "coords", "longitude"),
    "recorded_at": ("location", "timestamp"),
    "accuracy_m": ("location", "coords", "accuracy"),
    "altitude_m": ("location", "coords", "altitude"),
    "speed_mps": ("location", "coords", "speed"),
    "battery_level": ("location", "battery", "level"),
    "bearing_deg": ("location", "coords", "heading"),
}


class OsmAndPoint(AppMessage):
    """The classic parameters; ``lat``/``lon`` may come as ``location=lat,lon``."""

    id: str | None = Field(default=None, alias="id")
    deviceid: str | None = None
    lat: Number
    lon: Number
    timestamp: Time
    speed: Knots = None
    spd: Speed = Field(default=None, description="m/s, for OsmAnd's {5} placeholder")
    bearing: Known = None
    heading: Known = None
    altitude: OptionalNumber = None
    accuracy: Known = None
    batt: Percent = None

    @model_validator(mode="before")
    @classmethod
    def _split_location(cls, data: Any) -> Any:
        if isinstance(data, dict) and "location" in data and "lat" not in data:
            lat, sep, lon = str(data["location"]).partition(",")
            if not sep:
                msg = "'location' must be 'lat,lon'"
                raise ValueError(msg)
            data = {**data, "lat": number(lat), "lon": number(lon)}
        return data


class TraccarCoords(AppMessage):
    """``location.coords``: speed in m/s, unknown values -1."""

    latitude: Number
    longitude: Number
    accuracy: Known = None
    speed: Speed = None
    heading: Known = None
    altitude: OptionalNumber = None


class TraccarBattery(AppMessage):
    """``location.battery``: level as a fraction."""

    level: Fraction = None


class TraccarLocation(AppMessage):
    """One location of the JSON form."""

    timestamp: Time
    coords: TraccarCoords
    battery: TraccarBattery | None = None


class TraccarMessage(AppMessage):
    """The JSON form of Traccar Client 9 and later: one location."""

    device_id: str | None = None
    location: TraccarLocation


class TraccarBatch(AppMessage):
    """The JSON form with a list of locations (sent after being offline)."""

    device_id: str | None = None
    location: list[TraccarLocation] = Field(max_length=MAX_POINTS)


def is_traccar_json(body: object) -> bool:
    """Return True for Traccar Client's JSON form (it has a ``location`` object/list)."""
    return isinstance(body, dict) and isinstance(body.get("location"), dict | list)


def points(
    params: dict[str, Any], loc: Sequence[str | int] = ("query",)
) -> list[Point]:
    """Return the fix in the classic OsmAnd parameters.

    Raises
    ------
    fastapi.exceptions.RequestValidationError
        Naming the parameter that is missing or wrong.
    """
    point: OsmAndPoint = parse(OsmAndPoint, params, loc)
    bearing = point.bearing if point.bearing is not None else point.heading
    return [
        Point(
            recorded_at=point.timestamp,
            fields={
                "latitude": point.lat,
                "longitude": point.lon,
                "accuracy_m": point.accuracy,
                "altitude_m": point.altitude,
                "speed_mps": point.speed if point.speed is not None else point.spd,
                "battery_level": point.batt,
                "bearing_deg": bearing,
            },
            names=NAMES,
            loc=tuple(loc),
            named_device=point.id or point.deviceid,
        )
    ]


def traccar_points(body: object) -> list[Point]:
    """Return the fixes of Traccar Client's JSON form.

    Raises
    ------
    fastapi.exceptions.RequestValidationError
        Naming the field that is missing or wrong.
    """
    batch = isinstance(body, dict) and isinstance(body.get("location"), list)
    message = parse(TraccarBatch if batch else TraccarMessage, body)
    locations = message.location if batch else [message.location]
    return [
        Point(
            recorded_at=location.timestamp,
            fields={
                "latitude": location.coords.latitude,
                "longitude": location.coords.longitude,
                "accuracy_m": location.coords.accuracy,
                "altitude_m": location.coords.altitude,
                "speed_mps": location.coords.speed,
                "battery_level": location.battery.level if location.battery else None,
                "bearing_deg": location.coords.heading,
            },
            names=TRACCAR_NAMES,
            named_device=message.device_id or None,
        )
        for location in locations
    ]
