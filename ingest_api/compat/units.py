"""Unit and time conversions for tracker apps: everything becomes SI and UTC.

Pure functions; each raises :class:`ValueError` with a message that says what was
wrong, which the mappers turn into a 422 naming the app's field.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator

KMH_IN_MPS = 1 / 3.6
KNOT_IN_MPS = 1852 / 3600
# Epoch values at or above this are milliseconds: as seconds it is the year 5138,
# as milliseconds 1973 (no tracker app sends points from before that).
EPOCH_MS_THRESHOLD = 100_000_000_000


def number(value: object) -> float | None:
    """Return ``value`` as a finite float; ``None`` for absent or empty values.

    Apps send numbers as JSON numbers, query strings or form fields; an empty
    string means "not known" (GPSLogger leaves unknown placeholders empty).
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        msg = "must be a number, not a boolean"
        raise ValueError(msg)  # noqa: TRY004 - pydantic wants ValueError
    try:
        result = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        msg = f"must be a number, got {value!r}"
        raise ValueError(msg) from None
    if not math.isfinite(result):
        msg = "must be a finite number"
        raise ValueError(msg)
    return result


def epoch_to_utc(seconds_or_ms: float) -> datetime:
    """Return the UTC time of an epoch value in seconds or milliseconds."""
    seconds = seconds_or_ms
    if abs(seconds_or_ms) >= EPOCH_MS_THRESHOLD:
        seconds = seconds_or_ms / 1000
    try:
        return datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError, ValueError):
        msg = f"epoch time {seconds_or_ms!r} is out of range"
        raise ValueError(msg) from None


def parse_time(value: object) -> datetime:
    """Return an aware UTC datetime from epoch seconds, epoch ms or ISO 8601.

    ISO times without an offset are taken as UTC (OsmAnd and Traccar send them
    so). Numeric strings are epoch values.
    """
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, int | float) and not isinstance(value, bool):
        return epoch_to_utc(number(value))  # type: ignore[arg-type]
    elif isinstance(value, str) and value.strip():
        text = value.strip()
        try:
            return epoch_to_utc(float(text))
        except ValueError:
            pass
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            msg = f"{text!r} is neither epoch seconds/milliseconds nor ISO 8601"
            raise ValueError(msg) from None
    else:
        msg = f"must be a time (epoch seconds, epoch ms or ISO 8601), got {value!r}"
        raise ValueError(msg)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        msg = f"{value!r} is out of range once converted to UTC"
        raise ValueError(msg) from None


def optional_time(value: object) -> datetime | None:
    """Return :func:`parse_time` of ``value``, ``None`` when absent or empty."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return parse_time(value)


def kmh_to_mps(kmh: float | None) -> float | None:
    """Convert km/h to m/s; a negative speed means "unknown"."""
    return None if kmh is None or kmh < 0 else kmh * KMH_IN_MPS


def knots_to_mps(knots: float | None) -> float | None:
    """Convert knots to m/s; a negative speed means "unknown"."""
    return None if knots is None or knots < 0 else knots * KNOT_IN_MPS


def known(value: float | None) -> float | None:
    """Return ``value`` unless it is the apps' "unknown" marker (negative)."""
    return None if value is None or value < 0 else value


def percent_to_fraction(percent: float | None) -> float | None:
    """Convert a battery percentage (0-100) to a fraction; negative is unknown."""
    if percent is None or percent < 0:
        return None
    if percent > 100:
        msg = f"battery {percent:g} % is above 100 %"
        raise ValueError(msg)
    return percent / 100


def fraction(level: float | None) -> float | None:
    """Check a battery level given as 0-1; negative (iOS: -1) is unknown."""
    if level is None or level < 0:
        return None
    if level > 1:
        msg = f"battery level {level:g} is above 1 (it is a fraction 0-1)"
        raise ValueError(msg)
    return level


def _required_number(value: object) -> float:
    result = number(value)
    if result is None:
        msg = "is required"
        raise ValueError(msg)
    return result


Number = Annotated[float, BeforeValidator(_required_number)]
"""A required number from JSON, a query string or a form."""
OptionalNumber = Annotated[float | None, BeforeValidator(number)]
"""A number that may be absent or empty."""
Time = Annotated[datetime, BeforeValidator(parse_time)]
"""Epoch seconds, epoch milliseconds or ISO 8601, as aware UTC."""
OptionalTime = Annotated[datetime | None, BeforeValidator(optional_time)]
"""A time that may be absent or empty."""
Speed = Annotated[float | None, BeforeValidator(number), AfterValidator(known)]
"""Metres per second; negative (apps' "unknown") becomes ``None``."""
Kmh = Annotated[float | None, BeforeValidator(number), AfterValidator(kmh_to_mps)]
"""km/h on the wire, metres per second once parsed."""
Knots = Annotated[float | None, BeforeValidator(number), AfterValidator(knots_to_mps)]
"""Knots on the wire, metres per second once parsed."""
Known = Speed
"""A non-negative quantity (accuracy, bearing) where negative means unknown."""
Percent = Annotated[
    float | None, BeforeValidator(number), AfterValidator(percent_to_fraction)
]
"""Battery percent on the wire, a 0-1 fraction once parsed."""
Fraction = Annotated[float | None, BeforeValidator(number), AfterValidator(fraction)]
"""Battery level 0-1; negative (unknown) becomes ``None``."""
