"""Google Takeout Semantic Location History (``2022_JANUARY.json``, until 2024).

``{"timelineObjects": [{"placeVisit": ...} | {"activitySegment": ...}]}``:

- a ``placeVisit`` is one fix at its start, at ``location`` (or, lacking one, its
  first ``otherCandidateLocations`` entry);
- an ``activitySegment`` is a fix at its start (``startLocation``, else the first
  ``waypointPath`` waypoint) and one at its end (``endLocation``, else the last
  waypoint), plus each timed point of its ``simplifiedRawPath``.

Times are ``startTimestamp``/``endTimestamp`` (ISO 8601, or epoch seconds or
milliseconds as text) or ``startTimestampMs``/``endTimestampMs``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, BinaryIO

from ingest_api.history import Candidate, Problem, Records, candidate
from ingest_api.history.google_records import SOURCE
from ingest_api.history.streams import json_items
from ingest_api.history.values import degrees, when


def read(stream: BinaryIO) -> Records:
    """Yield candidates and problems for every timeline object."""
    for number, (_, item) in enumerate(
        json_items(stream, {"timelineObjects.item"}), start=1
    ):
        where = f"timelineObject {number}"
        if isinstance(item, Mapping) and isinstance(item.get("placeVisit"), Mapping):
            yield _visit(item["placeVisit"], f"{where} placeVisit")
        elif isinstance(item, Mapping) and isinstance(
            item.get("activitySegment"), Mapping
        ):
            yield from _activity(item["activitySegment"], f"{where} activitySegment")
        else:
            yield Problem(where, "neither a placeVisit nor an activitySegment")


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _located(*places: Any) -> Mapping[str, Any] | None:
    for given in places:
        place = _mapping(given)
        if "latitudeE7" in place or "latE7" in place:
            return place
    return None


def _time(duration: Mapping[str, Any], edge: str) -> Any:
    return duration.get(f"{edge}Timestamp") or duration.get(f"{edge}TimestampMs")


def _visit(visit: Mapping[str, Any], where: str) -> Candidate | Problem:
    candidates = visit.get("otherCandidateLocations")
    others = candidates if isinstance(candidates, list) else []
    place = _located(visit.get("location"), *others)
    return _fix(
        where + " start", place, _time(_mapping(visit.get("duration")), "start")
    )


def _activity(segment: Mapping[str, Any], where: str) -> Records:
    duration = _mapping(segment.get("duration"))
    points = _mapping(segment.get("waypointPath")).get("waypoints")
    waypoints = points if isinstance(points, list) and points else [None]
    for edge, place in (
        ("start", _located(segment.get("startLocation"), waypoints[0])),
        ("end", _located(segment.get("endLocation"), waypoints[-1])),
    ):
        yield _fix(f"{where} {edge}", place, _time(duration, edge))
    raw = _mapping(segment.get("simplifiedRawPath")).get("points")
    for index, given in enumerate(raw if isinstance(raw, list) else [], start=1):
        point = _mapping(given)
        yield _fix(
            f"{where} raw path point {index}",
            point,
            point.get("timestamp") or point.get("timestampMs"),
            point.get("accuracyMeters"),
        )


def _fix(
    where: str, place: Mapping[str, Any] | None, time: Any, accuracy: Any = None
) -> Candidate | Problem:
    if not place or (
        ("latitudeE7" not in place or "longitudeE7" not in place)
        and ("latE7" not in place or "lngE7" not in place)
    ):
        return Problem(where, "no location (latitudeE7/longitudeE7)")
    if time in (None, ""):
        return Problem(where, "no timestamp")
    try:
        return candidate(
            where,
            recorded_at=when(time),
            latitude=degrees(
                place.get("latitudeE7", place.get("latE7")), "lat", e7=True
            ),
            longitude=degrees(
                place.get("longitudeE7", place.get("lngE7")), "lon", e7=True
            ),
            accuracy_m=accuracy,
            source=SOURCE,
        )
    except ValueError as exc:
        return Problem(where, str(exc))
