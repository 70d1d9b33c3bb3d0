"""Garmin Training Center XML (``.tcx``): each ``Trackpoint`` with a ``Position``.

Trackpoints without a position (indoor workouts, heart rate only) are skipped with
that reason; speed comes from the ``TPX`` activity extension where present.
"""

from __future__ import annotations

from typing import BinaryIO

from ingest_api.history import Problem, Records, candidate
from ingest_api.history.streams import child_text, xml_elements
from ingest_api.history.values import decimal, degrees, when

SOURCE = "tcx"


def read(stream: BinaryIO) -> Records:
    """Yield a candidate or problem per trackpoint."""
    for number, (_, point) in enumerate(
        xml_elements(stream, "TrainingCenterDatabase", {"Trackpoint"}), start=1
    ):
        where = f"Trackpoint {number}"
        time = child_text(point, "Time")
        latitude = child_text(point, "LatitudeDegrees")
        if not time:
            yield Problem(where, "the trackpoint has no <Time>")
        elif latitude is None:
            yield Problem(where, "the trackpoint has no <Position> (no GPS)")
        else:
            try:
                yield candidate(
                    where,
                    recorded_at=when(time),
                    latitude=degrees(latitude, "lat"),
                    longitude=degrees(child_text(point, "LongitudeDegrees"), "lon"),
                    altitude_m=decimal(child_text(point, "AltitudeMeters")),
                    speed_mps=decimal(child_text(point, "Speed")),
                    source=SOURCE,
                )
            except ValueError as exc:
                yield Problem(where, str(exc))
