"""Overland (iOS): ``{"locations": [GeoJSON Feature, ...]}`` in batches.

Coordinates are ``[lon, lat]``, ``properties.timestamp`` ISO 8601, ``speed`` m/s,
``battery_level`` 0-1; iOS reports unknown values as -1. Trip and visit summaries
(and non-point features) carry no fix and are skipped. The app needs
``{"result": "ok"}`` to drop a batch from its queue.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from ingest_api.compat.fixes import MAX_POINTS, AppMessage, Point, parse
from ingest_api.compat.units import Fraction, Known, Number, OptionalNumber, Speed, Time

SOURCE = "overland"
SUMMARIES = frozenset({"trip", "visit"})
NAMES: dict[str, str | tuple[str | int, ...]] = {
    "latitude": ("geometry", "coordinates", 1),
    "longitude": ("geometry", "coordinates", 0),
    "recorded_at": ("properties", "timestamp"),
    "accuracy_m": ("properties", "horizontal_accuracy"),
    "altitude_m": ("properties", "altitude"),
    "speed_mps": ("properties", "speed"),
    "battery_level": ("properties", "battery_level"),
    "bearing_deg": ("properties", "course"),
}


class OverlandBatch(AppMessage):
    """The request body; features are parsed one by one."""

    locations: list[dict[str, Any]] = Field(max_length=MAX_POINTS)


class OverlandGeometry(AppMessage):
    """A GeoJSON point: ``[lon, lat]`` or ``[lon, lat, alt]``."""

    coordinates: tuple[Number, Number] | tuple[Number, Number, OptionalNumber]


class OverlandProperties(AppMessage):
    """The properties of a location feature that Loom keeps."""

    timestamp: Time
    altitude: OptionalNumber = None
    speed: Speed = None
    horizontal_accuracy: Known = None
    course: Known = None
    battery_level: Fraction = None
    device_id: str | None = None


class OverlandFeature(AppMessage):
    """A location feature."""

    geometry: OverlandGeometry
    properties: OverlandProperties


def _is_fix(feature: dict[str, Any]) -> bool:
    geometry = feature.get("geometry")
    properties = feature.get("properties")
    if not isinstance(geometry, dict) or geometry.get("type") != "Point":
        return False
    return not (isinstance(properties, dict) and properties.get("type") in SUMMARIES)


def points(body: object) -> list[Point]:
    """Return the fixes of an Overland batch.

    Raises
    ------
    fastapi.exceptions.RequestValidationError
        Naming ``locations.<i>.<field>`` of every malformed location.
    """
    batch: OverlandBatch = parse(OverlandBatch, body)
    found = []
    for index, feature in enumerate(batch.locations):
        if not _is_fix(feature):
            continue
        loc = ("body", "locations", index)
        parsed: OverlandFeature = parse(OverlandFeature, feature, loc)
        lon, lat, *rest = parsed.geometry.coordinates
        props = parsed.properties
        found.append(
            Point(
                recorded_at=props.timestamp,
                fields={
                    "latitude": lat,
                    "longitude": lon,
                    "accuracy_m": props.horizontal_accuracy,
                    "altitude_m": (
                        props.altitude
                        if props.altitude is not None
                        else (rest[0] if rest else None)
                    ),
                    "speed_mps": props.speed,
                    "battery_level": props.battery_level,
                    "bearing_deg": props.course,
                },
                names=NAMES,
                loc=loc,
                named_device=props.device_id or None,
            )
        )
    return found
