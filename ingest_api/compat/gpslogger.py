"""GPSLogger for Android, "Log to custom URL": query, form or JSON parameters.

The user templates the URL or body with ``%LAT``, ``%LON``, ``%TIME`` (ISO) or
``%TIMESTAMP`` (epoch s), ``%ALT``, ``%ACC``, ``%SPD`` (m/s), ``%DIR``, ``%BATT``
(percent). Unknown values arrive empty. The app replays unsent points on
reconnect; their derived ids make the replays land once.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import model_validator

from ingest_api.compat.fixes import AppMessage, Point, parse
from ingest_api.compat.units import (
    Known,
    Number,
    OptionalNumber,
    OptionalTime,
    Percent,
    Speed,
)

SOURCE = "gpslogger"
NAMES = {
    "latitude": "lat",
    "longitude": "lon",
    "accuracy_m": "acc",
    "altitude_m": "alt",
    "speed_mps": "spd",
    "battery_level": "batt",
    "bearing_deg": "dir",
}


class GpsLoggerPoint(AppMessage):
    """The parameters Loom reads; ``time`` or ``timestamp`` is required."""

    lat: Number
    lon: Number
    time: OptionalTime = None
    timestamp: OptionalTime = None
    alt: OptionalNumber = None
    acc: Known = None
    spd: Speed = None
    dir: Known = None
    batt: Percent = None

    @model_validator(mode="after")
    def _has_time(self) -> GpsLoggerPoint:
        if self.time is None and self.timestamp is None:
            msg = "needs 'time' (%TIME, ISO 8601) or 'timestamp' (%TIMESTAMP, epoch s)"
            raise ValueError(msg)
        return self


def points(
    params: dict[str, Any], loc: Sequence[str | int] = ("query",)
) -> list[Point]:
    """Return the fix in GPSLogger's parameters.

    Raises
    ------
    fastapi.exceptions.RequestValidationError
        Naming the parameter that is missing or wrong.
    """
    point: GpsLoggerPoint = parse(GpsLoggerPoint, params, loc)
    recorded_at = point.time or point.timestamp
    return [
        Point(
            recorded_at=recorded_at,  # type: ignore[arg-type] - checked above
            fields={
                "latitude": point.lat,
                "longitude": point.lon,
                "accuracy_m": point.acc,
                "altitude_m": point.alt,
                "speed_mps": point.spd,
                "battery_level": point.batt,
                "bearing_deg": point.dir,
            },
            names={**NAMES, "recorded_at": "time" if point.time else "timestamp"},
            loc=tuple(loc),
        )
    ]
