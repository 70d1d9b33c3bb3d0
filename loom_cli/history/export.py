"""Write a device's landed fixes as GPX, GeoJSON or CSV that ``loom import`` reads back.

Every column of ``gps_data`` that describes the fix travels (time to the
microsecond, coordinates as exact floats, accuracy, altitude, speed, bearing,
battery and the source app), so importing an export for another device lands the
same rows, and importing it for the same device lands nothing new: the ids derive
from device, time, source and position, all kept.

Stays and moves (``gps_tracks``) go along where the format has room: GPX gets each
stay as a waypoint, GeoJSON each stay and move as a feature at its centroid. They
are marked as Loom's (``loom:segment``, ``loom_segment``), and ``loom import``
skips them with that reason: Loom computes them again from the fixes.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import TextIO
from xml.sax.saxutils import escape, quoteattr

import psycopg

from ingest_api.history.gpx import LOOM_NS

FORMATS = ("gpx", "geojson", "csv")
GARMIN_TPX = "http://www.garmin.com/xmlschemas/TrackPointExtension/v2"


@dataclass(frozen=True)
class Fix:
    """One landed fix, with the ``GpsFix`` field names."""

    recorded_at: datetime
    latitude: float
    longitude: float
    accuracy_m: float | None
    altitude_m: float | None
    speed_mps: float | None
    bearing_deg: float | None
    battery_level: float | None
    source: str | None


COLUMNS = list(Fix.__dataclass_fields__)


@dataclass(frozen=True)
class Segment:
    """A stay or a move the ``gps_tracks`` asset found."""

    kind: str  # "stay" or "move"
    start: datetime
    end: datetime
    latitude: float
    longitude: float
    place_name: str | None
    point_count: int
    distance_m: float


def landed(database_url: str, device_id: str, first: date, last: date) -> Iterator[Fix]:
    """Yield the device's fixes of the UTC days ``first`` to ``last``, in time order.

    A server-side cursor streams them: memory stays flat on years of history.
    """
    start = datetime.combine(first, time(), UTC)
    end = datetime.combine(last + timedelta(days=1), time(), UTC)
    columns = ", ".join(["time", *COLUMNS[1:]])
    with psycopg.connect(database_url) as conn, conn.cursor(name="export") as cursor:
        cursor.itersize = 10_000
        cursor.execute(
            f"SELECT {columns} FROM gps_data"  # noqa: S608 - fixed column names
            " WHERE device_id = %s AND time >= %s AND time < %s"
            " ORDER BY time, event_id",
            (device_id, start, end),
        )
        for row in cursor:
            yield Fix(*row)


def segments(
    database_url: str, device_id: str, first: date, last: date
) -> list[Segment]:
    """Return the device's stays and moves that start in the UTC days, by time."""
    start = datetime.combine(first, time(), UTC)
    end = datetime.combine(last + timedelta(days=1), time(), UTC)
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT kind, time, end_time, centroid_lat, centroid_lon, place_name,"
            " point_count, distance_m FROM gps_tracks"
            " WHERE device_id = %s AND time >= %s AND time < %s ORDER BY time",
            (device_id, start, end),
        ).fetchall()
    return [Segment(*row) for row in rows]


def _time(moment: datetime) -> str:
    return (
        moment.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")
    )


def write_csv(
    fixes: Iterator[Fix], out: TextIO, _segments: Sequence[Segment] = ()
) -> tuple[int, int]:
    """Write a header and a row per fix (CSV holds no stays or moves).

    Returns how many fixes and how many stays or moves were written.
    """
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    count = 0
    for fix in fixes:
        row = asdict(fix)
        row["recorded_at"] = _time(fix.recorded_at)
        writer.writerow(["" if row[c] is None else row[c] for c in COLUMNS])
        count += 1
    return count, 0


def write_geojson(
    fixes: Iterator[Fix], out: TextIO, segments: Sequence[Segment] = ()
) -> tuple[int, int]:
    """Write a ``FeatureCollection`` of ``Point`` features, one per line.

    Returns how many fixes and how many stays or moves were written.
    """
    out.write('{"type": "FeatureCollection", "features": [\n')
    count = 0
    for fix in fixes:
        properties = {
            k: v
            for k, v in asdict(fix).items()
            if v is not None and k not in {"latitude", "longitude"}
        }
        properties["recorded_at"] = _time(fix.recorded_at)
        feature = {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [fix.longitude, fix.latitude]},
            "properties": properties,
        }
        out.write(
            ("," if count else "") + json.dumps(feature, ensure_ascii=False) + "\n"
        )
        count += 1
    for index, segment in enumerate(segments):
        feature = {
            "type": "Feature",
            "geometry": {
                "type": "Point",
                "coordinates": [segment.longitude, segment.latitude],
            },
            "properties": {
                "loom_segment": segment.kind,
                "start": _time(segment.start),
                "end": _time(segment.end),
                "place_name": segment.place_name,
                "point_count": segment.point_count,
                "distance_m": segment.distance_m,
            },
        }
        out.write(
            ("," if count or index else "")
            + json.dumps(feature, ensure_ascii=False)
            + "\n"
        )
    out.write("]}\n")
    return count, len(segments)


def write_gpx(
    fixes: Iterator[Fix], out: TextIO, segments: Sequence[Segment] = ()
) -> tuple[int, int]:
    """Write stays as waypoints, then a GPX 1.1 track of the fixes.

    What GPX has no element for goes in extensions. Returns how many fixes and
    how many stays were written.
    """
    stays = [s for s in segments if s.kind == "stay"]
    out.write(
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<gpx version="1.1" creator="Loom" xmlns="http://www.topografix.com/GPX/1/1"'
        f' xmlns:gpxtpx="{GARMIN_TPX}" xmlns:loom="{LOOM_NS}">\n'
    )
    out.writelines(
        f"<wpt lat={quoteattr(repr(stay.latitude))}"
        f" lon={quoteattr(repr(stay.longitude))}>"
        f"<time>{_time(stay.start)}</time>"
        f"<name>{escape(stay.place_name or 'stay')}</name><type>stay</type>"
        f"<extensions><loom:segment>stay</loom:segment>"
        f"<loom:end>{_time(stay.end)}</loom:end></extensions></wpt>\n"
        for stay in stays
    )
    out.write("<trk><trkseg>\n")
    count = 0
    for fix in fixes:
        parts = [
            f"<trkpt lat={quoteattr(repr(fix.latitude))} lon={quoteattr(repr(fix.longitude))}>"
        ]
        if fix.altitude_m is not None:
            parts.append(f"<ele>{fix.altitude_m!r}</ele>")
        parts.append(f"<time>{_time(fix.recorded_at)}</time><extensions>")
        garmin = [
            f"<gpxtpx:{name}>{value!r}</gpxtpx:{name}>"
            for name, value in (("speed", fix.speed_mps), ("course", fix.bearing_deg))
            if value is not None
        ]
        if garmin:
            parts.append(
                "<gpxtpx:TrackPointExtension>"
                + "".join(garmin)
                + "</gpxtpx:TrackPointExtension>"
            )
        for name in ("accuracy_m", "battery_level", "source"):
            value = getattr(fix, name)
            if value is not None:
                text = escape(value) if isinstance(value, str) else repr(value)
                parts.append(f"<loom:{name}>{text}</loom:{name}>")
        parts.append("</extensions></trkpt>\n")
        out.write("".join(parts))
        count += 1
    out.write("</trkseg></trk>\n</gpx>\n")
    return count, len(stays)


WRITERS = {"gpx": write_gpx, "geojson": write_geojson, "csv": write_csv}
