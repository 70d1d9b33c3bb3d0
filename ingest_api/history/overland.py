"""Overland (iOS) files: ``{"locations": [GeoJSON Feature, ...]}``, as it posts them.

Each feature is read by the ingest API's own Overland mapper, so a point posted
live and imported later from a saved batch is the same event and lands once.
"""

from __future__ import annotations

from typing import BinaryIO

from fastapi.exceptions import RequestValidationError

from ingest_api.compat import overland
from ingest_api.history import Problem, Records, candidate
from ingest_api.history.streams import json_items

SOURCE = overland.SOURCE


def read(stream: BinaryIO) -> Records:
    """Yield a candidate or problem per location feature."""
    for number, (_, feature) in enumerate(
        json_items(stream, {"locations.item"}), start=1
    ):
        where = f"location {number}"
        try:
            points = overland.points({"locations": [feature]})
        except RequestValidationError as exc:
            yield Problem(where, app_errors(exc))
            continue
        if not points:
            yield Problem(where, "not a location (a summary, an event or no point)")
        for point in points:
            yield candidate(
                where, recorded_at=point.recorded_at, source=SOURCE, **point.fields
            )


def app_errors(exc: RequestValidationError) -> str:
    """Return the ingest API's validation errors as one line."""
    return "; ".join(
        ".".join(str(p) for p in error["loc"] if p not in _WRAPPERS)
        + ": "
        + error["msg"]
        for error in exc.errors()
    )


_WRAPPERS = {"body", "locations", 0}  # where the API's body put a single record
