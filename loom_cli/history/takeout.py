"""Google Takeout location history: ``Records.json`` and Semantic Location History.

``Records.json`` holds raw fixes (``latitudeE7``/``longitudeE7``, ``timestamp`` or
the older ``timestampMs``, ``accuracy`` m, ``velocity`` m/s, ``heading``,
``altitude``). Semantic Location History (``YYYY_MONTH.json``) holds
``timelineObjects``: a place visit becomes a fix at its start and one at its end; an
activity segment its start, its end and the timed points of its raw path.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from loom_cli.history import Candidate, HistoryFormatError, Problem, Record, Records

SOURCE = "google"
E7 = 1e-7


def load_json(path: Path) -> Any:
    """Parse a JSON file, turning a syntax error into a one-line format error."""
    try:
        return json.loads(path.read_bytes())
    except json.JSONDecodeError as exc:
        msg = f"{path.name}: not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})"
        raise HistoryFormatError(msg) from None
    except UnicodeDecodeError as exc:
        msg = f"{path.name}: not UTF-8 text ({exc.reason})"
        raise HistoryFormatError(msg) from None


def read_records(document: Any) -> Records:
    """Yield a candidate per entry of a ``Records.json`` document."""
    for number, entry in enumerate(document["locations"], start=1):
        where = f"record {number}"
        if not isinstance(entry, Mapping):
            yield Problem(where, "entry is not a JSON object")
            continue
        yield _record(entry, where)


def _record(entry: Mapping[str, Any], where: str) -> Candidate | Problem:
    missing = [k for k in ("latitudeE7", "longitudeE7") if k not in entry]
    if missing:
        return Problem(where, f"lacks {', '.join(missing)}")
    recorded_at = _timestamp(entry.get("timestamp"), entry.get("timestampMs"))
    if recorded_at is None:
        return Problem(where, "lacks a readable timestamp (timestamp or timestampMs)")
    fields = {
        "recorded_at": recorded_at,
        "latitude": _degrees(entry["latitudeE7"]),
        "longitude": _degrees(entry["longitudeE7"]),
        "accuracy_m": entry.get("accuracy"),
        "altitude_m": entry.get("altitude"),
        "speed_mps": entry.get("velocity"),
        "bearing_deg": entry.get("heading"),
        "source": SOURCE,
    }
    return Candidate(where, {k: v for k, v in fields.items() if v is not None})


def read_semantic(document: Any) -> Records:
    """Yield candidates for the visits and activities of a semantic history file."""
    for number, item in enumerate(document["timelineObjects"], start=1):
        where = f"timelineObject {number}"
        if not isinstance(item, Mapping):
            yield Problem(where, "entry is not a JSON object")
        elif "placeVisit" in item:
            yield from _visit(item["placeVisit"], where)
        elif "activitySegment" in item:
            yield from _activity(item["activitySegment"], where)


def _visit(visit: Mapping[str, Any], where: str) -> Iterator[Record]:
    place = visit.get("location", {})
    duration = visit.get("duration", {})
    for edge in ("startTimestamp", "endTimestamp"):
        yield _semantic_point(
            place.get("latitudeE7"),
            place.get("longitudeE7"),
            duration.get(edge),
            duration.get(edge + "Ms"),
            f"{where} placeVisit {edge}",
            accuracy=place.get("accuracyMetres"),
        )


def _activity(segment: Mapping[str, Any], where: str) -> Iterator[Record]:
    duration = segment.get("duration", {})
    for edge, key in (
        ("startTimestamp", "startLocation"),
        ("endTimestamp", "endLocation"),
    ):
        spot = segment.get(key, {})
        yield _semantic_point(
            spot.get("latitudeE7"),
            spot.get("longitudeE7"),
            duration.get(edge),
            duration.get(edge + "Ms"),
            f"{where} activity {edge}",
        )
    raw_path = segment.get("simplifiedRawPath", {}).get("points", [])
    for index, point in enumerate(raw_path, start=1):
        yield _semantic_point(
            point.get("latE7"),
            point.get("lngE7"),
            point.get("timestamp"),
            point.get("timestampMs"),
            f"{where} raw path point {index}",
            accuracy=point.get("accuracyMeters"),
        )


def _semantic_point(  # noqa: PLR0917 - mirrors the fields Takeout spreads around
    lat_e7: Any, lon_e7: Any, iso: Any, millis: Any, where: str, accuracy: Any = None
) -> Candidate | Problem:
    if lat_e7 is None or lon_e7 is None:
        return Problem(where, "lacks latitudeE7/longitudeE7")
    recorded_at = _timestamp(iso, millis)
    if recorded_at is None:
        return Problem(where, "lacks a readable timestamp")
    fields = {
        "recorded_at": recorded_at,
        "latitude": _degrees(lat_e7),
        "longitude": _degrees(lon_e7),
        "accuracy_m": accuracy,
        "source": SOURCE,
    }
    return Candidate(where, {k: v for k, v in fields.items() if v is not None})


def _degrees(e7: Any) -> Any:
    return e7 * E7 if isinstance(e7, int | float) else e7


def _timestamp(iso: Any, millis: Any) -> datetime | None:
    if isinstance(iso, str):
        try:
            return datetime.fromisoformat(iso)
        except ValueError:
            return None
    if isinstance(millis, str | int) and str(millis).isdigit():
        return datetime.fromtimestamp(int(millis) / 1000, UTC)
    return None


def read(path: Path) -> Records:
    """Yield candidates from either kind of Takeout file, told apart by content."""
    document = load_json(path)
    if isinstance(document, Mapping) and isinstance(document.get("locations"), list):
        return read_records(document)
    if isinstance(document, Mapping) and isinstance(
        document.get("timelineObjects"), list
    ):
        return read_semantic(document)
    msg = (
        f"{path.name}: neither Records.json ('locations') nor Semantic Location "
        "History ('timelineObjects'); which Takeout file is this?"
    )
    raise HistoryFormatError(msg)
