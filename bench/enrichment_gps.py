"""GPS device-days segmented per second (clean, stays and moves, places).

Loom's path per device-day: clean (accuracy, duplicates, spikes), stay-point
detection, moves' distances, reverse geocoding of each segment. Side by side in the
same run: one vectorised haversine pass over the same fixes (the floor: reading
every fix once) and the PNG map, which the asset also draws. Prints JSON.

    .venv/bin/python bench/enrichment_gps.py [--days 20]
"""

from __future__ import annotations

import argparse
import json
import os
from datetime import date, timedelta

from timing import per_second

from loom_dagster.enrichment import geocoding, geodesy, samples, stays, track_map


def segment_day(raw: stays.Track) -> list[stays.Segment]:
    track, _ = stays.clean(raw)
    segments = stays.segment(track)
    geocoding.containing_places([(s.centroid_lat, s.centroid_lon) for s in segments])
    return segments


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--days", type=int, default=20)
    args = parser.parse_args()
    days = [
        stays.Track.from_rows(
            [
                (t.timestamp(), a, b, acc)
                for t, a, b, acc in samples.gps_day(
                    date(2024, 5, 1) + timedelta(k), seed=k
                ).fixes
            ]
        )
        for k in range(args.days)
    ]
    geocoding.containing_places([(0.0, 0.0)])  # load the k-d tree outside the timing
    loom = per_second(segment_day, days)
    floor = per_second(lambda t: geodesy.path_length_m(t.lat, t.lon), days)
    one = days[0]
    maps = per_second(
        lambda t: track_map.draw_track_map(t, stays.segment(t), [], "bench"), days[:5]
    )
    print(
        json.dumps(
            {
                "benchmark": "gps_device_days_per_second",
                "fixes_per_day": len(one),
                "days": len(days),
                "loom_segment_and_geocode_days_per_s": round(loom, 1),
                "loom_fixes_per_s": round(loom * len(one)),
                "floor_haversine_pass_days_per_s": round(floor, 1),
                "map_png_days_per_s": round(maps, 2),
                "load_average_1m": round(os.getloadavg()[0], 2),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
