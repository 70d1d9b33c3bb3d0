"""Google Maps Timeline exported on the phone (2024+), in both its shapes.

- iOS/Android "Export timeline data": ``{"semanticSegments": [...],
  "rawSignals": [...], "userLocationProfile": {...}}``, places as
  ``{"latLng": "48.8566°, 2.3522°"}``;
- the older on-device array form: ``[{"startTime", "endTime", "visit" |
  "activity" | "timelinePath" | "timelineMemory"}]``, places as
  ``"geo:48.8566,2.3522"`` and path times as ``durationMinutesOffsetFromStartTime``.

A ``visit`` is a fix at its start; an ``activity`` a fix at its start and at its
end; each ``timelinePath`` point a fix at its own time; each ``rawSignals``
``position`` a fix. Memories, Wi-Fi scans and activity records hold no fix.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import timedelta
from typing import Any, BinaryIO

from ingest_api.history import Candidate, Problem, Records, candidate
from ingest_api.history.google_records import SOURCE
from ingest_api.history.streams import json_items
from ingest_api.history.values import decimal, degrees, when

_LAT_LNG = re.compile(r"^\s*(?:geo:)?\s*([^,]+?)\s*°?\s*,\s*([^,]+?)\s*°?\s*$")


def read(stream: BinaryIO) -> Records:
    """Yield candidates and problems for every segment and raw signal."""
    prefixes = {"item", "semanticSegments.item", "rawSignals.item"}
    counts = dict.fromkeys(prefixes, 0)
    for prefix, item in json_items(stream, prefixes):
        counts[prefix] += 1
        if prefix == "rawSignals.item":
            yield _signal(item, f"rawSignal {counts[prefix]}")
        else:
            yield from _segment(item, f"segment {counts[prefix]}")


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _place(value: Any) -> Any:
    """``"geo:lat,lng"``, ``"lat°, lng°"`` or ``{"latLng": ...}`` -> the text."""
    if isinstance(value, Mapping):
        return value.get("latLng") or value.get("LatLng")
    return value


def _segment(segment: Any, where: str) -> Records:
    segment = _mapping(segment)
    start, end = segment.get("startTime"), segment.get("endTime")
    if "visit" in segment:
        top = _mapping(_mapping(segment["visit"]).get("topCandidate"))
        yield _fix(f"{where} visit", _place(top.get("placeLocation")), start)
    elif "activity" in segment:
        activity = _mapping(segment["activity"])
        yield _fix(f"{where} activity start", _place(activity.get("start")), start)
        yield _fix(f"{where} activity end", _place(activity.get("end")), end)
    elif "timelinePath" in segment:
        path = segment["timelinePath"]
        for index, given in enumerate(path if isinstance(path, list) else [], 1):
            point = _mapping(given)
            time = point.get("time")
            offset = point.get("durationMinutesOffsetFromStartTime")
            if time is None and offset is not None:
                time = _offset(start, offset)
            yield _fix(f"{where} path point {index}", point.get("point"), time)
    else:
        kinds = ", ".join(k for k in segment if k not in {"startTime", "endTime"})
        yield Problem(where, f"holds no place or path ({kinds or 'empty'})")


def _offset(start: Any, minutes: Any) -> Any:
    try:
        return when(start) + timedelta(minutes=float(minutes))
    except (TypeError, ValueError, OverflowError):
        return None


def _signal(signal: Any, where: str) -> Candidate | Problem:
    position = _mapping(_mapping(signal).get("position"))
    if not position:
        kinds = ", ".join(_mapping(signal)) or "empty"
        return Problem(where, f"holds no position ({kinds})")
    fix = _fix(f"{where} position", _place(position), position.get("timestamp"))
    if isinstance(fix, Problem):
        return fix
    extra = {
        "accuracy_m": decimal(position.get("accuracyMeters")),
        "altitude_m": decimal(position.get("altitudeMeters")),
        "speed_mps": decimal(position.get("speedMetersPerSecond")),
    }
    return candidate(fix.where, **fix.fields, **extra)


def _fix(where: str, place: Any, time: Any) -> Candidate | Problem:
    if not isinstance(place, str):
        return Problem(where, "no place (latLng or geo: point)")
    match = _LAT_LNG.match(place)
    if match is None:
        return Problem(where, f"{place!r} is not a 'lat, lng' point")
    if time in (None, ""):
        return Problem(where, "no time")
    try:
        return candidate(
            where,
            recorded_at=when(time),
            latitude=degrees(match.group(1), "lat"),
            longitude=degrees(match.group(2), "lon"),
            source=SOURCE,
        )
    except ValueError as exc:
        return Problem(where, str(exc))
