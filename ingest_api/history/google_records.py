"""Google Takeout ``Records.json``: the raw fixes of Location History (until 2024).

``{"locations": [{latitudeE7, longitudeE7, timestamp | timestampMs, accuracy,
altitude, velocity, heading, ...}]}``; read item by item (files reach gigabytes).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, BinaryIO

from ingest_api.history import Candidate, Problem, Records, candidate
from ingest_api.history.streams import json_items
from ingest_api.history.values import degrees, when

SOURCE = "google"


def read(stream: BinaryIO) -> Records:
    """Yield a candidate or problem per entry of ``locations``."""
    for number, (_, entry) in enumerate(
        json_items(stream, {"locations.item"}), start=1
    ):
        yield record(entry, f"record {number}")


def record(entry: Any, where: str) -> Candidate | Problem:
    """Return the candidate of one ``locations`` entry, or its problem."""
    if not isinstance(entry, Mapping):
        return Problem(where, "the entry is not a JSON object")
    missing = [k for k in ("latitudeE7", "longitudeE7") if k not in entry]
    if missing:
        return Problem(where, f"lacks {', '.join(missing)}")
    time = entry.get("timestamp") or entry.get("timestampMs")
    if time is None:
        return Problem(where, "lacks a timestamp (timestamp or timestampMs)")
    try:
        return candidate(
            where,
            recorded_at=when(time),
            latitude=degrees(entry["latitudeE7"], "lat", e7=True),
            longitude=degrees(entry["longitudeE7"], "lon", e7=True),
            accuracy_m=entry.get("accuracy"),
            altitude_m=entry.get("altitude"),
            speed_mps=entry.get("velocity"),
            bearing_deg=entry.get("heading"),
            source=SOURCE,
        )
    except ValueError as exc:
        return Problem(where, str(exc))
