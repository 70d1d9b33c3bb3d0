"""A device-day's track: its fixes read, cleaned, segmented and placed, and its map.

One code path for the ``gps_tracks`` asset and ``loom map DEVICE DATE``: both read
the day's fixes with :data:`READ_FIXES`, clean and segment them (:mod:`stays`),
name the places (:mod:`geocoding`) and draw the map (:mod:`track_map`), so the
picture on the command line is the one in the asset's materialisation.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import psycopg

from loom_dagster.enrichment import geocoding, stays
from loom_dagster.enrichment.store import DeviceDay
from loom_dagster.enrichment.track_map import draw_track_map

READ_FIXES = """
SELECT extract(epoch FROM time)::float8, latitude, longitude, accuracy_m
FROM gps_data
WHERE device_id = %s AND time >= %s AND time < %s
ORDER BY time, event_id
"""


@dataclass(frozen=True)
class DayTrack:
    """The stays and moves of a device-day, and what they were computed from.

    Attributes
    ----------
    partition
        The device and UTC day.
    raw
        Every fix read.
    track, rejected
        The fixes kept by :func:`stays.clean`, and how many it dropped.
    segments, places
        The stays and moves, and the town each lies in (same order).
    """

    partition: DeviceDay
    raw: stays.Track
    track: stays.Track
    rejected: stays.Rejections
    segments: list[stays.Segment]
    places: list[geocoding.Place]

    def map_png(self) -> bytes:
        """Draw the day's map: the track, its moves and its labelled stays."""
        return draw_track_map(
            self.track,
            self.segments,
            [p.name for p in self.places],
            f"{self.partition} (UTC)",
        )


def day_track(
    partition: DeviceDay, rows: Sequence[tuple[float, float, float, float | None]]
) -> DayTrack:
    """Clean, segment and place ``(epoch_s, lat, lon, accuracy_m)`` rows."""
    raw = stays.Track.from_rows(list(rows))
    track, rejected = stays.clean(raw)
    segments = stays.segment(track)
    places = geocoding.containing_places(
        [(s.centroid_lat, s.centroid_lon) for s in segments]
    )
    return DayTrack(partition, raw, track, rejected, segments, places)


def read_day(conn: psycopg.Connection, partition: DeviceDay) -> DayTrack:
    """Read the partition's fixes from ``gps_data`` and return its track."""
    rows = conn.execute(
        READ_FIXES, (partition.device_id, partition.start, partition.end)
    ).fetchall()
    return day_track(partition, rows)
