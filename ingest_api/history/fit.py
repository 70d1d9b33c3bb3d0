"""Garmin FIT activity files (watches, bike computers, Strava/Garmin Connect exports).

Every ``record`` message with a timestamp and a position is a fix; positions are
semicircles (degrees = semicircles x 180 / 2^31); records without a position
(indoor activities, sensor-only samples) are skipped with that reason.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, BinaryIO

import fitdecode

from ingest_api.history import HistoryFormatError, Problem, Records, candidate

SOURCE = "fit"
SEMICIRCLE = 180 / 2**31


def read(stream: BinaryIO) -> Records:
    """Yield a candidate or problem per ``record`` message."""
    number = 0
    try:
        with fitdecode.FitReader(
            stream,
            check_crc=fitdecode.CrcCheck.RAISE,
            error_handling=fitdecode.ErrorHandling.RAISE,
        ) as reader:
            for frame in reader:
                if (
                    not isinstance(frame, fitdecode.FitDataMessage)
                    or frame.name != "record"
                ):
                    continue
                number += 1
                yield _record(frame, f"record {number}")
    except (fitdecode.FitError, ValueError, TypeError, KeyError, IndexError) as exc:
        msg = f"not a readable FIT file ({exc})"
        raise HistoryFormatError(msg) from None


def _value(frame: fitdecode.FitDataMessage, *names: str) -> Any:
    for name in names:
        if frame.has_field(name):
            value = frame.get_value(name)
            if value is not None:
                return value
    return None


def _number(value: Any) -> float | None:
    return value if isinstance(value, int | float) else None


def _record(frame: fitdecode.FitDataMessage, where: str) -> Any:
    time = _value(frame, "timestamp")
    lat, lon = _value(frame, "position_lat"), _value(frame, "position_long")
    if not isinstance(time, datetime):
        return Problem(where, "the record has no timestamp")
    if lat is None or lon is None:
        return Problem(where, "the record has no position (no GPS)")
    if not all(isinstance(v, int | float) for v in (lat, lon)):
        return Problem(where, f"position {lat!r}, {lon!r} is not in semicircles")
    return candidate(
        where,
        recorded_at=time if time.tzinfo else time.replace(tzinfo=UTC),
        latitude=lat * SEMICIRCLE,
        longitude=lon * SEMICIRCLE,
        altitude_m=_number(_value(frame, "enhanced_altitude", "altitude")),
        speed_mps=_number(_value(frame, "enhanced_speed", "speed")),
        source=SOURCE,
    )
