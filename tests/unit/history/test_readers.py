import json
from datetime import UTC, datetime

import pytest

from loom_cli.history import (
    Candidate,
    HistoryFormatError,
    Problem,
    gpx,
    owntracks,
    takeout,
)
from loom_cli.history.load import detect_format, validate
from loom_core.contracts import GpsFix

GPX = """<?xml version="1.0"?>
<gpx version="1.1" creator="test" xmlns="http://www.topografix.com/GPX/1/1">
  <wpt lat="1" lon="1"><name>ignored waypoint</name></wpt>
  <trk><trkseg>
    <trkpt lat="52.52" lon="13.405"><ele>34.5</ele><time>2024-05-01T08:00:00Z</time></trkpt>
    <trkpt lat="52.53" lon="13.41"><time>2024-05-01T08:01:00Z</time></trkpt>
    <trkpt lat="52.54" lon="13.42"></trkpt>
  </trkseg></trk>
</gpx>"""


def test_gpx_track_points_become_candidates_and_untimed_ones_problems(tmp_path):
    path = tmp_path / "ride.gpx"
    path.write_text(GPX)
    first, second, third = gpx.read(path)
    assert first == Candidate(
        "track 1 segment 1 point 1",
        {
            "recorded_at": datetime(2024, 5, 1, 8, tzinfo=UTC),
            "latitude": 52.52,
            "longitude": 13.405,
            "altitude_m": 34.5,
            "source": "gpx",
        },
    )
    assert second.fields["latitude"] == 52.53
    assert isinstance(third, Problem)
    assert "no <time>" in third.reason


def test_broken_gpx_is_a_format_error(tmp_path):
    path = tmp_path / "broken.gpx"
    path.write_text("<gpx><trk>")
    with pytest.raises(HistoryFormatError, match=r"broken\.gpx: not a readable GPX"):
        list(gpx.read(path))


def rec_line(time: str, message: dict) -> str:
    return f"{time}\t*                 \t{json.dumps(message)}\n"


def test_owntracks_rec_converts_units_and_skips_other_types(tmp_path):
    path = tmp_path / "2024-05.rec"
    path.write_text(
        rec_line(
            "2024-05-01T08:00:00Z",
            {
                "_type": "location",
                "lat": 48.1,
                "lon": 11.5,
                "tst": 1714550400,
                "vel": 36,
                "batt": 80,
                "acc": 12,
                "cog": 90,
                "alt": 520,
            },
        )
        + rec_line("2024-05-01T08:00:01Z", {"_type": "transition", "event": "enter"})
        + "\n"
        + "garbage line\n"
        + "2024-05-01T08:00:02Z\t*\t{not json\n"
        + rec_line("2024-05-01T08:00:03Z", {"_type": "location", "lat": 48.2})
    )
    records = list(owntracks.read(path))
    assert len(records) == 4
    located = records[0]
    assert located.fields == {
        "recorded_at": datetime(2024, 5, 1, 8, tzinfo=UTC),
        "latitude": 48.1,
        "longitude": 11.5,
        "accuracy_m": 12,
        "altitude_m": 520,
        "speed_mps": pytest.approx(10.0),
        "bearing_deg": 90,
        "battery_level": 0.8,
        "source": "owntracks",
    }
    assert [r.where for r in records[1:]] == ["line 4", "line 5", "line 6"]
    assert "three tab-separated" in records[1].reason
    assert "not JSON" in records[2].reason
    assert "lacks lon, tst" in records[3].reason


def test_a_file_that_is_not_rec_at_all_is_a_format_error(tmp_path):
    path = tmp_path / "notes.rec"
    path.write_text("hello world\n")
    with pytest.raises(HistoryFormatError, match=r"is this an OwnTracks \.rec file"):
        list(owntracks.read(path))


def test_takeout_records_json(tmp_path):
    path = tmp_path / "Records.json"
    path.write_text(
        json.dumps(
            {
                "locations": [
                    {
                        "latitudeE7": 515074000,
                        "longitudeE7": -1278000,
                        "accuracy": 20,
                        "timestamp": "2022-01-05T10:00:00.123Z",
                        "velocity": 3,
                        "heading": 180,
                    },
                    {
                        "latitudeE7": 515075000,
                        "longitudeE7": -1279000,
                        "timestampMs": "1641376860000",
                    },
                    {"latitudeE7": 515075000, "timestampMs": "1641376860000"},
                    {
                        "latitudeE7": 515075000,
                        "longitudeE7": 1,
                        "timestamp": "yesterday",
                    },
                    "nonsense",
                ]
            }
        )
    )
    first, second, *problems = takeout.read(path)
    assert first.fields["latitude"] == pytest.approx(51.5074)
    assert first.fields["longitude"] == pytest.approx(-0.1278)
    assert first.fields["recorded_at"] == datetime(
        2022, 1, 5, 10, 0, 0, 123000, tzinfo=UTC
    )
    assert (first.fields["speed_mps"], first.fields["bearing_deg"]) == (3, 180)
    assert second.fields["recorded_at"] == datetime(2022, 1, 5, 10, 1, tzinfo=UTC)
    assert [(p.where, p.reason) for p in problems] == [
        ("record 3", "lacks longitudeE7"),
        ("record 4", "lacks a readable timestamp (timestamp or timestampMs)"),
        ("record 5", "entry is not a JSON object"),
    ]


def test_takeout_semantic_history(tmp_path):
    path = tmp_path / "2022_JANUARY.json"
    path.write_text(
        json.dumps(
            {
                "timelineObjects": [
                    {
                        "placeVisit": {
                            "location": {
                                "latitudeE7": 515000000,
                                "longitudeE7": -1000000,
                                "name": "Home",
                            },
                            "duration": {
                                "startTimestamp": "2022-01-05T08:00:00Z",
                                "endTimestamp": "2022-01-05T09:00:00Z",
                            },
                        }
                    },
                    {
                        "activitySegment": {
                            "startLocation": {
                                "latitudeE7": 515000000,
                                "longitudeE7": -1000000,
                            },
                            "endLocation": {
                                "latitudeE7": 515100000,
                                "longitudeE7": -1100000,
                            },
                            "duration": {
                                "startTimestamp": "2022-01-05T09:00:00Z",
                                "endTimestamp": "2022-01-05T09:20:00Z",
                            },
                            "simplifiedRawPath": {
                                "points": [
                                    {
                                        "latE7": 515050000,
                                        "lngE7": -1050000,
                                        "timestamp": "2022-01-05T09:10:00Z",
                                        "accuracyMeters": 8,
                                    }
                                ]
                            },
                        }
                    },
                    {"activitySegment": {"startLocation": {}, "duration": {}}},
                ]
            }
        )
    )
    records = list(takeout.read(path))
    good = [r for r in records if isinstance(r, Candidate)]
    assert [
        r.fields["recorded_at"].hour * 60 + r.fields["recorded_at"].minute for r in good
    ] == [480, 540, 540, 560, 550]
    assert good[-1].fields["accuracy_m"] == 8
    assert [p.where for p in records if isinstance(p, Problem)] == [
        "timelineObject 3 activity startTimestamp",
        "timelineObject 3 activity endTimestamp",
    ]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"locations": [1,', "not valid JSON (Expecting value at line 1 column 18)"),
        ('{"something": []}', "which Takeout file is this?"),
    ],
)
def test_takeout_bad_files_are_format_errors(tmp_path, content, message):
    path = tmp_path / "Records.json"
    path.write_text(content)
    with pytest.raises(HistoryFormatError) as caught:
        list(takeout.read(path))
    assert message in str(caught.value)


def test_format_is_told_from_the_suffix(tmp_path):
    assert detect_format(tmp_path / "a.GPX") == "gpx"
    assert detect_format(tmp_path / "2024-05.rec") == "owntracks"
    with pytest.raises(HistoryFormatError, match="pass --format"):
        detect_format(tmp_path / "a.kml")


def test_validate_derives_a_stable_id_and_names_bad_fields():
    when = datetime(2024, 5, 1, 8, tzinfo=UTC)
    candidate = Candidate(
        "line 1",
        {"recorded_at": when, "latitude": 1.0, "longitude": 2.0, "source": "gpx"},
    )
    first, again = validate(candidate, "phone"), validate(candidate, "phone")
    assert isinstance(first, GpsFix)
    assert first.event_id == again.event_id
    assert validate(candidate, "watch").event_id != first.event_id

    bad = Candidate("line 2", {**candidate.fields, "latitude": 123.0})
    problem = validate(bad, "phone")
    assert isinstance(problem, Problem)
    assert problem.where == "line 2"
    assert problem.reason.startswith(
        "latitude: Input should be less than or equal to 90"
    )
