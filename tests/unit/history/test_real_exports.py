"""Real files written by other apps (Dawarich's fixtures, in the shared folder).

Each file lands the fixes its records imply; every other record has a reason.
"""

from __future__ import annotations

import pytest

from tests.unit.history.conftest import imported, real, rows

# file: (format, fixes, skipped records, first row)
EXPECTED = {
    "gpx/arc_example.gpx": (
        "gpx",
        7,
        0,
        ("2024-12-17T12:40:05Z", 16.8225909, 100.2645019),
    ),
    "gpx/garmin_example.gpx": (
        "gpx",
        1,
        0,
        ("2024-11-03T09:30:11.331000Z", 10.7583212, 106.6423445),
    ),
    "gpx/gpx_track_single_segment.gpx": ("gpx", 10, 0, None),
    "gpx/gpx_track_multiple_segments.gpx": ("gpx", 43, 0, None),
    "gpx/gpx_track_multiple_tracks.gpx": ("gpx", 34, 0, None),
    "kml/points_with_timestamps.kml": (
        "kml",
        3,
        0,
        ("2024-01-15T12:00:00Z", 37.422, -122.0841),
    ),
    "kml/timespan.kml": ("kml", 1, 0, ("2024-01-10T09:00:00Z", 37.422, -122.0841)),
    "kml/gx_track.kml": ("kml", 4, 0, ("2024-01-20T08:00:00Z", 37.422, -122.0841)),
    "kml/nested_folders.kml": ("kml", 4, 0, None),
    "kml/multigeometry.kml": ("kml", 3, 3, None),
    "kml/linestring_track.kml": ("kml", 1, 4, None),
    "kml/large_track.kml": ("kml", 2, 18, None),
    "kml/extended_data.kml": ("kml", 1, 0, None),
    "kml/invalid_coordinates.kml": ("kml", 0, 2, None),
    "kmz/points_with_timestamps.kmz": (
        "kml",
        3,
        0,
        ("2024-01-15T12:00:00Z", 37.422, -122.0841),
    ),
    "geojson/export.json": ("geojson", 10, 0, ("2021-01-01T00:00:01Z", 0.1, 0.1)),
    "geojson/google_takeout_example.json": (
        "geojson",
        1,
        0,
        ("2016-06-21T06:09:33Z", 36.0, 28.0),
    ),
    "geojson/gpslogger_example.json": ("geojson", 1, 0, None),
    "geojson/various_fields.geojson": (
        "geojson",
        3,
        0,
        ("2024-06-15T10:30:00Z", 52.52, 13.405),
    ),
    "csv/gpslogger.csv": ("csv", 3, 0, ("2024-06-15T10:30:00Z", 52.52, 13.405)),
    "csv/semicolon_eu.csv": ("csv", 3, 0, ("2024-06-15T10:30:00Z", 52.52, 13.405)),
    "csv/unix_timestamps.csv": ("csv", 3, 0, ("2024-06-15T09:36:40Z", 52.52, 13.405)),
    "tcx/running.tcx": ("tcx", 1, 0, ("2024-01-01T10:00:00Z", 52.52, 13.405)),
    "tcx/no_gps.tcx": ("tcx", 0, 2, None),
    "overland/geojson_example.json": ("overland", 6, 0, None),
    "overland/geodata.json": (
        "overland",
        1,
        1,
        ("2015-10-01T15:00:00Z", 37.3318, -122.030581),
    ),
    "owntracks_rec/2024-03.rec": (
        "owntracks",
        9,
        4,
        ("2024-03-01T09:03:09Z", 52.225, 13.332),
    ),
    "owntracks_rec/2023-02_old.rec": (
        "owntracks",
        10,
        0,
        ("2023-02-20T18:46:22Z", 22.0687934, 24.7941786),
    ),
    "google_phone/location-history.json": (
        "google-timeline",
        11,
        1,
        ("2023-08-27T20:48:56Z", 27.720022, -97.347951),
    ),
    "google_phone/timeline_new_format.json": (
        "google-timeline",
        6,
        0,
        ("2024-06-15T07:00:00Z", 48.8566, 2.3522),
    ),
    "google_phone/phone-takeout_w_3_duplicates.json": ("google-timeline", 4, 3, None),
}
SEMANTIC = {
    "with_placeVisit_with_location_with_coordinates.json": (
        "2025-03-24T19:23:52Z",
        12.3477777,
    ),
    "with_placeVisit_with_location_with_coordinates_with_iso_timestamp.json": (
        "2025-03-24T19:25:02Z",
        12.3488888,
    ),
    "with_placeVisit_with_location_with_coordinates_with_seconds_timestamp.json": (
        "2025-03-24T19:25:02Z",
        12.3499999,
    ),
    "with_placeVisit_with_location_with_coordinates_with_milliseconds_timestamp.json": (
        "2025-03-24T19:25:02.585000Z",
        12.3511111,
    ),
    "with_placeVisit_with_location_with_coordinates_with_timestampMs.json": (
        "2025-03-24T19:25:02.585000Z",
        12.3522222,
    ),
    "with_placeVisit_without_location_with_coordinates_with_otherCandidateLocations.json": (
        "2025-03-24T19:25:02Z",
        12.3533333,
    ),
    "with_activitySegment_with_startLocation.json": (
        "2025-03-24T19:07:24Z",
        12.3422222,
    ),
    "with_activitySegment_with_startLocation_with_iso_timestamp.json": (
        "2025-03-24T19:20:23Z",
        12.3433333,
    ),
    "with_activitySegment_with_startLocation_timestamp_in_seconds_format.json": (
        "2025-03-24T19:25:02.585000Z",
        12.3444444,
    ),
    "with_activitySegment_with_startLocation_timestamp_in_milliseconds_format.json": (
        "2025-03-24T19:23:52Z",
        12.3455555,
    ),
    "with_activitySegment_with_startLocation_timestampMs.json": (
        "2025-03-24T19:25:02.585000Z",
        12.3466666,
    ),
    "with_activitySegment_without_startLocation.json": (
        "2025-03-24T19:07:24Z",
        12.3411111,
    ),
}


@pytest.mark.parametrize("relative", EXPECTED)
def test_real_export_lands_its_fixes(relative):
    fmt, count, skipped, first_row = EXPECTED[relative]
    found, fixes, problems = imported(real(relative))
    assert found == fmt
    assert (len(fixes), len(problems)) == (count, skipped), problems
    assert all(reason for _, reason in problems)
    if first_row:
        assert rows(fixes)[0] == first_row


@pytest.mark.parametrize("name", SEMANTIC)
def test_semantic_history_in_every_timestamp_spelling(name):
    found, fixes, _ = imported(real(f"google_semantic/{name}"))
    time, degrees = SEMANTIC[name]
    assert found == "google-semantic"
    assert rows(fixes)[:1] == [(time, degrees, degrees)]


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("with_placeVisit_without_location_with_coordinates.json", "no location"),
        (
            "with_activitySegment_without_startLocation_without_waypointPath.json",
            "no location",
        ),
    ],
)
def test_semantic_history_without_a_place_is_skipped_with_a_reason(name, reason):
    _, fixes, problems = imported(real(f"google_semantic/{name}"))
    assert fixes == []
    assert problems
    assert all(reason in r for _, r in problems)


def test_the_whole_folder_imports_file_by_file():
    found = {}
    from ingest_api.history.load import inputs  # noqa: PLC0415

    for item in inputs(real(".")):
        found[item.name] = item.fmt
    assert found["kmz/points_with_timestamps.kmz/doc.kml"] == "kml"
    assert None not in found.values()
    assert len(found) == len(EXPECTED) + len(SEMANTIC) + 2
