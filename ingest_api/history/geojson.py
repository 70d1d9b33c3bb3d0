"""GeoJSON ``FeatureCollection``s (Dawarich, GPSLogger, Loom's own export, togeojson).

Each ``Point`` feature is a fix at its properties' time (``timestamp``, ``time``,
``date``, ... in ISO 8601 or epoch s/ms); ``LineString`` and ``MultiPoint``
features are a fix per point where the properties list per-point times
(``coordTimes`` or ``times``, as togeojson writes them), otherwise their first
point at the feature's time. Other properties are read by their usual names.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, BinaryIO

from ingest_api.history import Candidate, Problem, Records, candidate
from ingest_api.history.streams import json_items
from ingest_api.history.values import TIME, degrees, first, key, measurements, when

SOURCE = "geojson"
PER_POINT_TIMES = ("coordTimes", "times")


def read(stream: BinaryIO) -> Records:
    """Yield candidates and problems for every feature of the collection."""
    for number, (_, feature) in enumerate(
        json_items(stream, {"features.item"}), start=1
    ):
        yield from features(feature, f"feature {number}", SOURCE)


def features(feature: Any, where: str, source: str) -> Records:
    """Yield the fixes of one GeoJSON feature."""
    if not isinstance(feature, Mapping):
        yield Problem(where, "the feature is not a JSON object")
        return
    geometry = feature.get("geometry")
    properties = feature.get("properties")
    properties = properties if isinstance(properties, Mapping) else {}
    if not isinstance(geometry, Mapping) or "coordinates" not in geometry:
        yield Problem(where, "the feature has no geometry")
        return
    if properties.get("loom_segment"):
        yield Problem(
            where, f"a {properties['loom_segment']} Loom derived from fixes, not a fix"
        )
        return
    kind, coordinates = geometry.get("type"), geometry["coordinates"]
    values = {key(k): v for k, v in properties.items()}
    time_key = first(values, TIME)
    if kind == "Point":
        yield _fix(
            where,
            values.get(time_key) if time_key else None,
            coordinates,
            values,
            source,
        )
        return
    if kind not in {"LineString", "MultiPoint"} or not isinstance(coordinates, list):
        yield Problem(where, f"a {kind} geometry holds no timed points")
        return
    times = next(
        (properties[n] for n in PER_POINT_TIMES if isinstance(properties.get(n), list)),
        None,
    )
    for index, position in enumerate(coordinates):
        at = f"{where} point {index + 1}"
        if times is not None and index < len(times):
            yield _fix(at, times[index], position, {}, source)
        elif times is None and index == 0:
            yield _fix(
                at, values.get(time_key) if time_key else None, position, values, source
            )
        else:
            yield Problem(at, f"a {kind} point without a time of its own")


def _fix(
    where: str, time: Any, position: Any, values: Mapping[str, Any], source: str
) -> Candidate | Problem:
    if time in (None, ""):
        return Problem(where, "no time (timestamp, time, date ... property)")
    if not isinstance(position, list) or len(position) < 2:
        return Problem(where, "coordinates are not [longitude, latitude]")
    try:
        return candidate(
            where,
            recorded_at=when(time),
            longitude=degrees(position[0], "lon"),
            latitude=degrees(position[1], "lat"),
            **{
                "altitude_m": position[2] if len(position) > 2 else None,
                "source": source,
                **measurements(values),
            },
        )
    except (TypeError, ValueError) as exc:
        return Problem(where, str(exc))
