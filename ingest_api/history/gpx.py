"""GPX 1.0 and 1.1 (Garmin, GPSLogger, OsmAnd, Arc, Strava ...): every timed point.

Track points, route points and waypoints all become fixes when they carry a
``<time>``; speed and course are read from GPX 1.0 elements or from extensions
(Garmin's ``TrackPointExtension``). Loom's own export names each point's source in
a ``<loom:source>`` extension, so a round trip keeps the original ids.
"""

from __future__ import annotations

from typing import BinaryIO
from xml.etree.ElementTree import Element

from ingest_api.history import Candidate, Problem, Records, candidate
from ingest_api.history.streams import child_text, local, xml_elements
from ingest_api.history.values import decimal, degrees, when

SOURCE = "gpx"
POINTS = {"wpt": "waypoint", "rtept": "route point", "trkpt": "track point"}
LOOM_NS = "https://loom.dev/ns/gpx/1"
# Apps whose GPX files name themselves in ``creator``: their points keep the app's
# source, so a file exported by an app that also posts live lands once.
CREATORS = {"gpslogger": "gpslogger", "osmand": "osmand"}


def read(stream: BinaryIO) -> Records:
    """Yield a candidate or problem per waypoint, route point and track point."""
    counts = dict.fromkeys(POINTS, 0)
    for root, element in xml_elements(stream, "gpx", POINTS):
        name = local(element.tag)
        counts[name] += 1
        yield point(element, f"{name} {counts[name]}", source_of(root))


def source_of(root: Element) -> str:
    """Return the source of a GPX file's points: its app's, where Loom knows it."""
    creator = (root.get("creator") or "").lower()
    return next((s for key, s in CREATORS.items() if key in creator), SOURCE)


def point(element: Element, where: str, source: str) -> Candidate | Problem:
    """Return the candidate of one ``wpt``/``rtept``/``trkpt``, or its problem."""
    segment = child_text(element, "segment")
    if segment:
        return Problem(where, f"a {segment} Loom derived from fixes, not a fix")
    time = child_text(element, "time")
    if not time:
        kind = POINTS[local(element.tag)]
        return Problem(where, f"the {kind} has no <time>")
    try:
        return candidate(
            where,
            recorded_at=when(time),
            latitude=degrees(element.get("lat"), "lat"),
            longitude=degrees(element.get("lon"), "lon"),
            altitude_m=decimal(child_text(element, "ele")),
            speed_mps=decimal(child_text(element, "speed")),
            bearing_deg=decimal(child_text(element, "course")),
            # Loom's own export keeps these in its extension
            accuracy_m=decimal(child_text(element, "accuracy_m")),
            battery_level=decimal(child_text(element, "battery_level")),
            source=child_text(element, "source") or source,
        )
    except ValueError as exc:
        return Problem(where, str(exc))
