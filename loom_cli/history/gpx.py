"""GPX 1.0/1.1 tracks and routes (waypoints are places, not a track: skipped)."""

from __future__ import annotations

from pathlib import Path

import gpxpy
import gpxpy.gpx

from loom_cli.history import Candidate, HistoryFormatError, Problem, Records

SOURCE = "gpx"


def read(path: Path) -> Records:
    """Yield a candidate per timed track or route point of the GPX file at ``path``."""
    try:
        gpx = gpxpy.parse(path.read_text(errors="replace"))
    except gpxpy.gpx.GPXException as exc:
        msg = f"{path.name}: not a readable GPX file ({exc})"
        raise HistoryFormatError(msg) from None
    for t, track in enumerate(gpx.tracks, start=1):
        for s, segment in enumerate(track.segments, start=1):
            for p, point in enumerate(segment.points, start=1):
                yield _point(point, f"track {t} segment {s} point {p}")
    for r, route in enumerate(gpx.routes, start=1):
        for p, point in enumerate(route.points, start=1):
            yield _point(point, f"route {r} point {p}")


def _point(point: gpxpy.gpx.GPXTrackPoint, where: str) -> Candidate | Problem:
    if point.time is None:
        return Problem(where, "point has no <time>; Loom needs when it was recorded")
    if point.time.tzinfo is None:
        return Problem(where, "time has no time zone (GPX times are UTC: add 'Z')")
    fields = {
        "recorded_at": point.time,
        "latitude": point.latitude,
        "longitude": point.longitude,
        "altitude_m": point.elevation,
        "accuracy_m": point.horizontal_dilution,
        "speed_mps": point.speed,
        "bearing_deg": point.course,
        "source": SOURCE,
    }
    return Candidate(where, {k: v for k, v in fields.items() if v is not None})
