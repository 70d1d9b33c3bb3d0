"""KML (Google Earth, My Maps, Google's old Timeline KML); KMZ is a ZIP of KML.

Every ``Placemark``, in any folder, is read with all its geometries (also inside
``MultiGeometry`` and ``gx:MultiTrack``):

- ``Point``: a fix at the placemark's ``TimeStamp``, or at the ``begin`` of its
  ``TimeSpan`` (a visit is a fix at its start);
- ``gx:Track``: a fix per ``when``/``gx:coord`` pair;
- ``LineString``: its first point at the placemark's time and, with a
  ``TimeSpan``, its last point at the end; points between carry no time of their
  own and are skipped with that reason.

``ExtendedData`` values named like speed, accuracy, battery ... are kept.
"""

from __future__ import annotations

from typing import BinaryIO
from xml.etree.ElementTree import Element

from ingest_api.history import Candidate, Problem, Records, candidate
from ingest_api.history.streams import child_text, local, xml_elements
from ingest_api.history.values import degrees, key, measurements, when

SOURCE = "kml"
GEOMETRIES = {"Point", "LineString", "Track"}


def read(stream: BinaryIO) -> Records:
    """Yield candidates and problems for every placemark of a KML document."""
    for number, (_, placemark) in enumerate(
        xml_elements(stream, "kml", {"Placemark"}), start=1
    ):
        yield from _placemark(placemark, f"Placemark {number}")


def _placemark(placemark: Element, where: str) -> Records:
    name = child_text(placemark, "name")
    if name:
        where = f"{where} ({name[:40]})"
    stamp, span = _direct(placemark, "TimeStamp"), _direct(placemark, "TimeSpan")
    start = child_text(stamp, "when") if stamp is not None else None
    end = None
    if span is not None:
        start, end = child_text(span, "begin"), child_text(span, "end")
    extra = _extended(placemark)
    geometries = [g for g in placemark.iter() if local(g.tag) in GEOMETRIES]
    if not geometries:
        yield Problem(where, "the placemark has no Point, LineString or gx:Track")
    for index, geometry in enumerate(geometries, start=1):
        kind = local(geometry.tag)
        at = f"{where} {kind}" + (f" {index}" if len(geometries) > 1 else "")
        if kind == "Track":
            yield from _track(geometry, at, extra)
            continue
        coordinates = (child_text(geometry, "coordinates") or "").split()
        if not coordinates:
            yield Problem(at, "no coordinates")
            continue
        if not start:
            yield Problem(at, "the placemark has no TimeStamp or TimeSpan begin")
            continue
        yield _fix(at, start, coordinates[0], ",", extra)
        last = len(coordinates) - 1
        for number in range(1, len(coordinates)):
            if number == last and end:
                yield _fix(f"{at} point {number + 1}", end, coordinates[-1], ",", {})
            else:
                yield Problem(
                    f"{at} point {number + 1}",
                    "a LineString point has no time of its own (KML gives the "
                    "line one time)",
                )


def _direct(element: Element, name: str) -> Element | None:
    return next((child for child in element if local(child.tag) == name), None)


def _track(track: Element, where: str, extra: dict[str, object]) -> Records:
    times = [(c.text or "").strip() for c in track if local(c.tag) == "when"]
    coords = [(c.text or "").strip() for c in track if local(c.tag) == "coord"]
    for number, (time, coord) in enumerate(zip(times, coords), start=1):
        yield _fix(f"{where} point {number}", time, coord, " ", extra)
    for number in range(
        min(len(times), len(coords)) + 1, max(len(times), len(coords)) + 1
    ):
        yield Problem(
            f"{where} point {number}", "a gx:Track needs as many <when> as <gx:coord>"
        )


def _fix(
    where: str, time: str, coordinate: str, sep: str, extra: dict[str, object]
) -> Candidate | Problem:
    parts = coordinate.split(sep)
    if len(parts) < 2:
        return Problem(where, f"coordinate {coordinate!r} lacks a latitude")
    try:
        return candidate(
            where,
            recorded_at=when(time),
            longitude=degrees(parts[0], "lon"),
            latitude=degrees(parts[1], "lat"),
            altitude_m=float(parts[2]) if len(parts) > 2 and parts[2] else None,
            **{"source": SOURCE, **extra},
        )
    except ValueError as exc:
        return Problem(where, str(exc))


def _extended(placemark: Element) -> dict[str, object]:
    values = {
        key(data.get("name", "")): child_text(data, "value")
        for data in placemark.iter()
        if local(data.tag) == "Data"
    }
    try:
        return measurements(values)
    except ValueError:
        return {}
