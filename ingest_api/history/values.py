"""Values as history files write them: times, degrees, and the names of fields.

One home for the spellings that CSV, GeoJSON and KML ``ExtendedData`` share. Each
parser raises :class:`ValueError` with a message naming what was wrong.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from ingest_api.compat.units import EPOCH_MS_THRESHOLD, number, parse_time

E7 = 10_000_000  # Google's integer coordinates: degrees times 10^7
_HEMISPHERE = re.compile(
    r"^\s*([NSEW])?\s*([-+]?(?:\d+(?:[.,]\d*)?|[.,]\d+)(?:e[-+]?\d+)?)"
    r"\s*°?\s*([NSEW])?\s*$",
    re.IGNORECASE,
)
_DAYTIME = re.compile(r"^\d{6}$")  # Columbus-style loggers: YYMMDD and HHMMSS


def when(value: object) -> datetime:
    """Return the aware UTC time of an ISO 8601 text or an epoch number.

    Epoch values may be seconds, milliseconds or microseconds (told apart by
    magnitude); numeric strings count as numbers; ISO times without an offset are
    UTC.
    """
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        value = int(value.strip())
    numeric = isinstance(value, int | float) and not isinstance(value, bool)
    if numeric and abs(value) >= EPOCH_MS_THRESHOLD * 1000:  # type: ignore[arg-type]
        value = value / 1000  # microseconds  # type: ignore[operator]
    return parse_time(value)


def split_when(date: str, time: str) -> datetime:
    """Return the time of a separate date and time of day.

    ``2024-06-15`` and ``10:30:00``, or ``240615`` and ``103000`` as GPS data
    loggers write them.
    """
    date, time = date.strip(), time.strip()
    if _DAYTIME.match(date) and _DAYTIME.match(time):
        date = f"20{date[:2]}-{date[2:4]}-{date[4:]}"
        time = f"{time[:2]}:{time[2:4]}:{time[4:]}"
    return when(f"{date}T{time}")


def decimal(value: object) -> float | None:
    """Return a number written with a decimal point or a decimal comma."""
    if isinstance(value, str) and "," in value and "." not in value:
        value = value.replace(",", ".")
    return number(value)


def degrees(value: object, axis: str, e7: bool = False) -> float:
    """Return signed degrees of a coordinate on ``axis`` (``"lat"`` or ``"lon"``).

    Accepts numbers, decimal commas, hemisphere letters before or after the number
    (``52.52N``, ``W 0.12``), and E7 integers (``e7=True``, or an integer too large
    to be degrees, as Google writes them).
    """
    name = "latitude" if axis == "lat" else "longitude"
    if value is None or (isinstance(value, str) and not value.strip()):
        msg = f"no {name}"
        raise ValueError(msg)
    if isinstance(value, str):
        match = _HEMISPHERE.match(value)
        if match is None:
            msg = f"{value!r} is not a coordinate"
            raise ValueError(msg)
        before, digits, after = match.groups()
        letter = (before or after or "").upper()
        allowed = "NS" if axis == "lat" else "EW"
        if letter and letter not in allowed:
            msg = f"{value!r}: {letter} is no {name} hemisphere"
            raise ValueError(msg)
        result = decimal(digits)
        if letter in {"S", "W"}:
            result = -abs(result)  # type: ignore[arg-type]
        integral = digits.lstrip("+-").isdigit()
    else:
        result = number(value)
        integral = isinstance(value, int) and not isinstance(value, bool)
    if result is None:
        msg = f"no {name}"
        raise ValueError(msg)
    if e7 or (integral and abs(result) > 1_000):
        result = _e7(result)
    return result


def _e7(value: float) -> float:
    # Some Takeout files overflowed int32: the sign is lost above 2**31 (documented
    # by Google's own converters), so fold such values back.
    if value > 2**31 - 1:
        value -= 2**32
    return value / E7


# The names apps give each field (lower case, letters and digits only), best first.
TIME = (
    "recordedat",
    "timestamp",
    "time",
    "datetime",
    "when",
    "date",
    "utc",
    "timeutc",
    "tst",
    "timelong",
    "timestampms",
    "unixtime",
    "epoch",
)
LATITUDE = ("lat", "latitude", "latitudedeg", "latitudens", "late7", "latitudee7")
LONGITUDE = (
    "lon",
    "lng",
    "long",
    "longitude",
    "longitudedeg",
    "longitudeew",
    "lone7",
    "lnge7",
    "longitudee7",
)
NAMES: dict[str, tuple[str, ...]] = {
    "accuracy_m": (
        "accuracy",
        "acc",
        "accuracym",
        "horizontalaccuracy",
        "accuracymeters",
        "precision",
    ),
    "altitude_m": (
        "altitude",
        "alt",
        "elevation",
        "ele",
        "height",
        "altitudem",
        "altitudemeters",
    ),
    "speed_mps": ("speed", "velocity", "vel", "speedmps", "speedmeterspersecond"),
    "speed_kmh": ("speedkmh", "kmh", "speedkph"),
    "bearing_deg": ("bearing", "course", "heading", "cog", "bearingdeg", "direction"),
    "battery": ("battery", "batt", "bat", "batterylevel", "batterypercent"),
    "source": ("source",),
}


def key(name: str) -> str:
    """Return a field name as the tables above spell it."""
    return re.sub(r"[^a-z0-9]", "", name.lower())


def first(keys: Mapping[str, Any], names: tuple[str, ...]) -> str | None:
    """Return the first of ``names`` among the normalised ``keys``."""
    return next((name for name in names if name in keys), None)


def measurements(values: Mapping[str, Any]) -> dict[str, Any]:
    """Return contract fields (besides time and position) of named values.

    ``values`` maps normalised names (:func:`key`) to the file's values; speeds in
    km/h become m/s, battery percentages fractions, and negative accuracies,
    speeds and bearings (the apps' "unknown") are dropped.
    """
    found: dict[str, Any] = {}
    for name, spellings in NAMES.items():
        spelled = first(values, spellings)
        if spelled is None or values[spelled] in (None, ""):
            continue
        raw = values[spelled]
        if name == "source":
            found["source"] = str(raw)[:32]
            continue
        value = decimal(raw)
        field = {"speed_kmh": "speed_mps", "battery": "battery_level"}.get(name, name)
        if name == "speed_kmh" and value is not None:
            value /= 3.6
        if name == "battery" and value is not None:
            value = _battery(raw, value)
        if value is None or (field in _KNOWN_OR_NEGATIVE and value < 0):
            continue
        found.setdefault(field, value)
    return found


_KNOWN_OR_NEGATIVE = {"accuracy_m", "speed_mps", "bearing_deg"}  # -1: "unknown"


def _battery(raw: object, value: float) -> float | None:
    """Return a battery level: a fraction if written as one (``0.85``), else percent."""
    if value < 0:
        return None
    written_as_fraction = isinstance(raw, float) or (
        isinstance(raw, str) and ("." in raw or "," in raw)
    )
    return value if written_as_fraction and value <= 1 else value / 100
