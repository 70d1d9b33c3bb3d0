"""OwnTracks in HTTP mode: one JSON message per POST, ``_type`` says what it is.

Only ``location`` messages carry a fix; other types (``transition``, ``waypoint``,
``lwt``, ...) are accepted and ignored, as the app expects. ``vel`` is km/h and
``batt`` percent. The device is named by the Basic auth user (or ``X-Limit-D``).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ingest_api.compat.fixes import MAX_POINTS, AppMessage, Point, parse
from ingest_api.compat.units import Kmh, Known, Number, OptionalNumber, Percent, Time
from ingest_api.errors import one_invalid

SOURCE = "owntracks"
NAMES = {
    "latitude": "lat",
    "longitude": "lon",
    "recorded_at": "tst",
    "accuracy_m": "acc",
    "altitude_m": "alt",
    "speed_mps": "vel",
    "battery_level": "batt",
    "bearing_deg": "cog",
}


class OwnTracksLocation(AppMessage):
    """A ``_type: location`` message (the fields Loom keeps)."""

    type: Literal["location"] = Field(alias="_type")
    lat: Number
    lon: Number
    tst: Time = Field(description="Epoch seconds of the fix")
    acc: Known = None
    alt: OptionalNumber = None
    vel: Kmh = None
    batt: Percent = None
    cog: Known = None
    tid: str | None = None


def points(body: object) -> list[Point]:
    """Return the fixes in an OwnTracks request body (a message or a list of them).

    Raises
    ------
    fastapi.exceptions.RequestValidationError
        For a malformed location, or an encrypted payload (which Loom cannot read).
    """
    messages = body if isinstance(body, list) else [body]
    if len(messages) > MAX_POINTS:
        raise one_invalid(
            ["body"], f"more than {MAX_POINTS} messages in one request (the limit)"
        )
    found = []
    for index, message in enumerate(messages):
        loc = ("body", index) if isinstance(body, list) else ("body",)
        if not isinstance(message, dict):
            raise one_invalid(loc, "an OwnTracks message is a JSON object")
        kind = message.get("_type")
        if kind == "encrypted":
            raise one_invalid(
                [*loc, "_type"],
                "encrypted OwnTracks payloads cannot be read: clear the encryption "
                "key in the app's settings",
            )
        if kind != "location":
            continue
        location: OwnTracksLocation = parse(OwnTracksLocation, message, loc)
        found.append(
            Point(
                recorded_at=location.tst,
                fields={
                    "latitude": location.lat,
                    "longitude": location.lon,
                    "accuracy_m": location.acc,
                    "altitude_m": location.alt,
                    "speed_mps": location.vel,
                    "battery_level": location.batt,
                    "bearing_deg": location.cog,
                },
                names=NAMES,
                loc=loc,
            )
        )
    return found
