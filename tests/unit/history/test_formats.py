"""Each importer on small files written the way each app documents its format.

Every case names the exact rows the file must land and why each other record is
skipped; the format is told from the bytes (no suffix helps: every file is .dat).
"""

from __future__ import annotations

import json
import zipfile

import pytest

from ingest_api.history import HistoryFormatError
from tests.unit.history.conftest import imported, rows

T = "2024-05-01T08:00:00Z"

GPX_11 = """\ufeff
  <?xml version="1.0" encoding="UTF-8"?>
<gpx version="1.1" creator="GPSLogger 131" xmlns="http://www.topografix.com/GPX/1/1"
 xmlns:gpxtpx="http://www.garmin.com/xmlschemas/TrackPointExtension/v2">
  <metadata><time>2024-05-01T07:00:00Z</time></metadata>
  <wpt lat="52.5" lon="13.4"><time>2024-05-01T07:30:00+02:00</time><name>Cafe</name></wpt>
  <wpt lat="52.6" lon="13.5"><name>A place, no time</name></wpt>
  <rte><rtept lat="52.51" lon="13.41"><time>2024-05-01T07:40:00Z</time></rtept></rte>
  <trk><trkseg>
    <trkpt lat="52.52" lon="13.405"><ele>34.5</ele><time>2024-05-01T08:00:00Z</time>
      <extensions><gpxtpx:TrackPointExtension><gpxtpx:speed>2.8</gpxtpx:speed>
      </gpxtpx:TrackPointExtension></extensions></trkpt>
    <trkpt lat="52.53" lon="13.41"><time>2024-05-01T08:01:00</time></trkpt>
  </trkseg><trkseg>
    <trkpt lat="95" lon="13.41"><time>2024-05-01T08:02:00Z</time></trkpt>
  </trkseg></trk>
</gpx>"""

KML = """<?xml version="1.0" encoding="UTF-8"?>
<kml xmlns="http://www.opengis.net/kml/2.2" xmlns:gx="http://www.google.com/kml/ext/2.2">
<Document><Folder><name>2024</name><Folder>
  <Placemark><name>Home</name><TimeSpan><begin>2024-05-01T06:00:00Z</begin>
    <end>2024-05-01T07:00:00Z</end></TimeSpan>
    <Point><coordinates>13.4,52.5,30</coordinates></Point></Placemark>
</Folder></Folder>
  <Placemark><name>Drive</name><gx:Track>
    <when>2024-05-01T07:00:00Z</when><when>2024-05-01T07:01:00Z</when>
    <gx:coord>13.41 52.51 31</gx:coord><gx:coord>13.42 52.52 32</gx:coord>
  </gx:Track></Placemark>
  <Placemark><name>Both</name><TimeStamp><when>2024-05-01T08:00:00Z</when></TimeStamp>
    <ExtendedData><Data name="speed"><value>1.5</value></Data>
    <Data name="battery"><value>85</value></Data></ExtendedData>
    <MultiGeometry><Point><coordinates>13.43,52.53</coordinates></Point>
    <LineString><coordinates>13.44,52.54 13.45,52.55</coordinates></LineString>
    </MultiGeometry></Placemark>
  <Placemark><name>Walk</name><TimeSpan><begin>2024-05-01T09:00:00Z</begin>
    <end>2024-05-01T09:30:00Z</end></TimeSpan>
    <LineString><coordinates>13.46,52.56 13.47,52.57 13.48,52.58</coordinates>
    </LineString></Placemark>
  <Placemark><name>Undated</name><Point><coordinates>13.5,52.6</coordinates></Point>
  </Placemark>
</Document></kml>"""

TCX = """<?xml version="1.0" encoding="UTF-8"?>
<TrainingCenterDatabase xmlns="http://www.garmin.com/xmlschemas/TrainingCenterDatabase/v2">
<Activities><Activity Sport="Biking"><Id>2024-05-01T08:00:00Z</Id>
<Lap StartTime="2024-05-01T08:00:00Z"><Track>
 <Trackpoint><Time>2024-05-01T08:00:00Z</Time><Position>
  <LatitudeDegrees>52.52</LatitudeDegrees><LongitudeDegrees>13.405</LongitudeDegrees>
  </Position><AltitudeMeters>34</AltitudeMeters></Trackpoint>
 <Trackpoint><Time>2024-05-01T08:00:05Z</Time><HeartRateBpm><Value>120</Value>
  </HeartRateBpm></Trackpoint>
</Track></Lap></Activity></Activities></TrainingCenterDatabase>"""

GEOJSON = {
    "type": "FeatureCollection",
    "features": [
        {  # Dawarich export: strings and epoch seconds
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": ["13.405", "52.52"]},
            "properties": {"timestamp": 1714550400, "velocity": 1.5, "battery": 80},
        },
        {  # GPSLogger: ISO with offset and epoch ms
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [13.41, 52.53, 35.0]},
            "properties": {"time": "2024-05-01T10:01:00+02:00", "accuracy": 4.5},
        },
        {  # togeojson from a GPX track: per-point times
            "type": "Feature",
            "geometry": {
                "type": "LineString",
                "coordinates": [[13.42, 52.54], [13.43, 52.55]],
            },
            "properties": {
                "coordTimes": ["2024-05-01T08:02:00Z", "2024-05-01T08:03:00Z"]
            },
        },
        {"type": "Feature", "geometry": None, "properties": {"time": T}},
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [13.4, 52.5]},
            "properties": {"name": "no time"},
        },
    ],
}

OVERLAND = {
    "locations": [
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [-122.030581, 37.3318]},
            "properties": {
                "timestamp": "2015-10-01T08:00:00-0700",
                "altitude": 0,
                "speed": 4,
                "horizontal_accuracy": 30,
                "battery_level": 0.89,
                "motion": ["driving"],
            },
        },
        {
            "type": "Feature",
            "properties": {
                "timestamp": "2015-10-01T08:00:05Z",
                "action": "will_terminate",
            },
        },
    ]
}


def rec(separator: str) -> str:
    def line(time: str, message: dict) -> str:
        return f"{time}{separator}*{separator}{json.dumps(message)}\n"

    base = {"_type": "location", "tid": "ph", "acc": 10}
    return (
        line(
            "2024-05-01T08:00:00Z",
            {
                **base,
                "lat": 52.52,
                "lon": 13.405,
                "tst": 1714550400,
                "vel": 36,
                "batt": 80,
            },
        )
        # the same second at another place: a second fix
        + line(
            "2024-05-01T08:00:00Z",
            {**base, "lat": 52.5201, "lon": 13.405, "tst": 1714550400},
        )
        + line(
            "2024-05-01T08:00:01Z",
            {"_type": "transition", "event": "leave", "tst": 1714550401},
        )
        + "\n"
        + line("2024-05-01T08:00:02Z", {**base, "lat": 52.52, "tst": 1714550402})
    )


REC_ROWS = [(T, 52.52, 13.405), (T, 52.5201, 13.405)]
REC_PROBLEMS = [
    ("line 3", "a transition message carries no fix"),
    ("line 5", "lon: Field required"),
]

RECORDS = {
    "locations": [
        {
            "latitudeE7": 525200000,
            "longitudeE7": 134050000,
            "accuracy": 20,
            "timestamp": "2024-05-01T08:00:00.123Z",
            "velocity": 3,
            "heading": 180,
        },
        {
            "latitudeE7": 525210000,
            "longitudeE7": 134060000,
            "timestampMs": "1714550460000",
        },
        {"latitudeE7": 525210000, "timestampMs": "1714550460000"},
        {"latitudeE7": 4294967296 - 100000000, "longitudeE7": 1, "timestamp": T},
        "nonsense",
    ]
}

SEMANTIC = {
    "timelineObjects": [
        {
            "placeVisit": {
                "location": {
                    "latitudeE7": 525000000,
                    "longitudeE7": 134000000,
                    "name": "Home",
                },
                "duration": {
                    "startTimestamp": "2024-05-01T06:00:00Z",
                    "endTimestamp": "2024-05-01T07:00:00Z",
                },
            }
        },
        {
            "placeVisit": {
                "location": {},
                "otherCandidateLocations": [
                    {"latitudeE7": 525100000, "longitudeE7": 134100000}
                ],
                "duration": {"startTimestampMs": "1714546800000"},
            }
        },  # 07:00
        {
            "placeVisit": {
                "location": {"latitudeE7": 525200000, "longitudeE7": 134200000},
                "duration": {"startTimestamp": "1714548600"},
            }
        },  # epoch s: 07:30
        {
            "activitySegment": {
                "startLocation": {"latitudeE7": 525000000, "longitudeE7": 134000000},
                "endLocation": {"latitudeE7": 525300000, "longitudeE7": 134300000},
                "duration": {
                    "startTimestamp": "2024-05-01 08:00:00 +0200",
                    "endTimestamp": "1714550400000",
                },
                "simplifiedRawPath": {
                    "points": [
                        {
                            "latE7": 525100000,
                            "lngE7": 134100000,
                            "timestamp": "2024-05-01T07:30:00Z",
                            "accuracyMeters": 8,
                        }
                    ]
                },
            }
        },
        {
            "activitySegment": {
                "waypointPath": {
                    "waypoints": [
                        {"latE7": 525400000, "lngE7": 134400000},
                        {"latE7": 525500000, "lngE7": 134500000},
                    ]
                },
                "duration": {
                    "startTimestamp": "2024-05-01T09:00:00Z",
                    "endTimestamp": "2024-05-01T09:10:00Z",
                },
            }
        },
        {"placeVisit": {"location": {}, "duration": {"startTimestamp": T}}},
    ]
}

TIMELINE = {
    "semanticSegments": [
        {
            "startTime": "2024-05-01T08:00:00.000+02:00",
            "endTime": "2024-05-01T09:00:00.000+02:00",
            "visit": {"topCandidate": {"placeLocation": {"latLng": "52.5°, 13.4°"}}},
        },
        {
            "startTime": "2024-05-01T09:00:00.000+02:00",
            "endTime": "2024-05-01T09:30:00.000+02:00",
            "activity": {
                "start": {"latLng": "52.5°, 13.4°"},
                "end": {"latLng": "52.6°, 13.5°"},
            },
        },
        {
            "startTime": "2024-05-01T09:30:00.000+02:00",
            "endTime": "2024-05-01T10:00:00.000+02:00",
            "timelinePath": [
                {"point": "52.61°, 13.51°", "time": "2024-05-01T09:35:00.000+02:00"}
            ],
        },
    ],
    "rawSignals": [
        {
            "position": {
                "LatLng": "52.62°, 13.52°",
                "accuracyMeters": 13,
                "altitudeMeters": 90.5,
                "timestamp": "2024-05-01T08:40:00.000Z",
                "speedMetersPerSecond": 0.5,
            }
        },
        {
            "wifiScan": {
                "deliveryTime": "2024-05-01T08:41:00.000Z",
                "devicesRecords": [],
            }
        },
    ],
    "userLocationProfile": {"frequentPlaces": []},
}

PHONE_ARRAY = [
    {
        "endTime": "2024-05-01T09:00:00.000+02:00",
        "startTime": "2024-05-01T08:00:00.000+02:00",
        "visit": {"topCandidate": {"placeLocation": "geo:52.500000,13.400000"}},
    },
    {
        "endTime": "2024-05-01T07:30:00.000Z",
        "startTime": "2024-05-01T07:00:00.000Z",
        "activity": {"start": "geo:52.5,13.4", "end": "geo:52.6,-13.5"},
    },
    {
        "endTime": "2024-05-01T10:00:00.000Z",
        "startTime": "2024-05-01T08:00:00.000Z",
        "timelinePath": [
            {"point": "geo:52.61,13.51", "durationMinutesOffsetFromStartTime": "49"}
        ],
    },
    {
        "endTime": "2024-05-02T00:00:00.000Z",
        "startTime": "2024-05-01T00:00:00.000Z",
        "timelineMemory": {"destinations": [{"identifier": "x"}]},
    },
]

CASES = {
    "gpx with a BOM, white space, waypoints, routes, tracks": (
        GPX_11,
        "gpx",
        [
            ("2024-05-01T05:30:00Z", 52.5, 13.4),
            ("2024-05-01T07:40:00Z", 52.51, 13.41),
            (T, 52.52, 13.405),
            ("2024-05-01T08:01:00Z", 52.53, 13.41),  # no offset: UTC
        ],
        [
            ("wpt 2", "the waypoint has no <time>"),
            ("trkpt 3", "latitude: Input should be less than or equal to 90"),
        ],
    ),
    "kml: TimeSpan, gx:Track, nested folders, MultiGeometry, LineString": (
        KML,
        "kml",
        [
            ("2024-05-01T06:00:00Z", 52.5, 13.4),
            ("2024-05-01T07:00:00Z", 52.51, 13.41),
            ("2024-05-01T07:01:00Z", 52.52, 13.42),
            (T, 52.53, 13.43),
            (T, 52.54, 13.44),
            ("2024-05-01T09:00:00Z", 52.56, 13.46),
            ("2024-05-01T09:30:00Z", 52.58, 13.48),
        ],
        [
            (
                "Placemark 3 (Both) LineString 2 point 2",
                "a LineString point has no time of its own (KML gives the line one time)",
            ),
            (
                "Placemark 4 (Walk) LineString point 2",
                "a LineString point has no time of its own (KML gives the line one time)",
            ),
            (
                "Placemark 5 (Undated) Point",
                "the placemark has no TimeStamp or TimeSpan begin",
            ),
        ],
    ),
    "tcx": (
        TCX,
        "tcx",
        [(T, 52.52, 13.405)],
        [("Trackpoint 2", "the trackpoint has no <Position> (no GPS)")],
    ),
    "geojson: Dawarich, GPSLogger, togeojson": (
        json.dumps(GEOJSON),
        "geojson",
        [
            (T, 52.52, 13.405),
            ("2024-05-01T08:01:00Z", 52.53, 13.41),
            ("2024-05-01T08:02:00Z", 52.54, 13.42),
            ("2024-05-01T08:03:00Z", 52.55, 13.43),
        ],
        [
            ("feature 4", "the feature has no geometry"),
            ("feature 5", "no time (timestamp, time, date ... property)"),
        ],
    ),
    "overland": (
        json.dumps(OVERLAND),
        "overland",
        [("2015-10-01T15:00:00Z", 37.3318, -122.030581)],
        [("location 2", "not a location (a summary, an event or no point)")],
    ),
    "owntracks .rec, tab separated": (rec("\t"), "owntracks", REC_ROWS, REC_PROBLEMS),
    "owntracks .rec, space separated (older recorders)": (
        rec("   "),
        "owntracks",
        REC_ROWS,
        REC_PROBLEMS,
    ),
    "google Records.json": (
        json.dumps(RECORDS),
        "google-records",
        [
            ("2024-05-01T08:00:00.123000Z", 52.52, 13.405),
            ("2024-05-01T08:01:00Z", 52.521, 13.406),
            (T, -10.0, 0.0000001),  # an int32 overflow folded back
        ],
        [
            ("record 3", "lacks longitudeE7"),
            ("record 5", "the entry is not a JSON object"),
        ],
    ),
    "google semantic location history: every timestamp spelling": (
        json.dumps(SEMANTIC),
        "google-semantic",
        [
            ("2024-05-01T06:00:00Z", 52.5, 13.4),
            ("2024-05-01T07:00:00Z", 52.51, 13.41),
            ("2024-05-01T07:30:00Z", 52.52, 13.42),
            ("2024-05-01T06:00:00Z", 52.5, 13.4),
            (T, 52.53, 13.43),
            ("2024-05-01T07:30:00Z", 52.51, 13.41),
            ("2024-05-01T09:00:00Z", 52.54, 13.44),
            ("2024-05-01T09:10:00Z", 52.55, 13.45),
        ],
        [("timelineObject 6 placeVisit start", "no location (latitudeE7/longitudeE7)")],
    ),
    "google timeline from the phone (semanticSegments)": (
        json.dumps(TIMELINE),
        "google-timeline",
        [
            ("2024-05-01T06:00:00Z", 52.5, 13.4),
            ("2024-05-01T07:00:00Z", 52.5, 13.4),
            ("2024-05-01T07:30:00Z", 52.6, 13.5),
            ("2024-05-01T07:35:00Z", 52.61, 13.51),
            ("2024-05-01T08:40:00Z", 52.62, 13.52),
        ],
        [("rawSignal 2", "holds no position (wifiScan)")],
    ),
    "google timeline from the phone (array form, geo: strings)": (
        json.dumps(PHONE_ARRAY),
        "google-timeline",
        [
            ("2024-05-01T06:00:00Z", 52.5, 13.4),
            ("2024-05-01T07:00:00Z", 52.5, 13.4),
            ("2024-05-01T07:30:00Z", 52.6, -13.5),
            ("2024-05-01T08:49:00Z", 52.61, 13.51),
        ],
        [("segment 4", "holds no place or path (timelineMemory)")],
    ),
    "csv: GPSLogger": (
        (
            "time,lat,lon,elevation,accuracy,bearing,speed,satellites,provider,battery\n"
            "2024-05-01T08:00:00.000Z,52.5200,13.4050,34.0,8,90,1.5,12,gps,85\n"
            "2024-05-01T08:01:00.000Z,,13.4060,35.0,10,95,1.6,11,gps,84\n"
        ),
        "csv",
        [(T, 52.52, 13.405)],
        [("line 3", "no latitude")],
    ),
    "csv: semicolons, decimal commas, quoted header, comments": (
        (
            '# exported 2024-05-01\n"Time";"Latitude";"Longitude";"Altitude"\n'
            "2024-05-01T08:00:00Z;52,5200;13,4050;34,5\n"
        ),
        "csv",
        [(T, 52.52, 13.405)],
        [],
    ),
    "tsv: epoch milliseconds, E7 columns": (
        "timestamp\tlatitudeE7\tlongitudeE7\n1714550400000\t525200000\t134050000\n",
        "csv",
        [(T, 52.52, 13.405)],
        [],
    ),
    "csv: Dawarich-style epoch seconds, OsmAnd-style names": (
        "latitude,longitude,timestamp,altitude,velocity,battery\n52.52,13.405,1714550400,34,1.5,85\n",
        "csv",
        [(T, 52.52, 13.405)],
        [],
    ),
    "csv: data logger with date, time and N/S/E/W": (
        (
            "INDEX,TAG,DATE,TIME,LATITUDE N/S,LONGITUDE E/W,HEIGHT\n"
            "1,T,240501,080000,52.520000N,0.120000W,34\n"
            "2,T,240501,080100,52.520000E,0.120000W,34\n"
        ),
        "csv",
        [(T, 52.52, -0.12)],
        [("line 3", "'52.520000E': E is no latitude hemisphere")],
    ),
}


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_each_format_lands_exactly_its_rows(write, case):
    content, fmt, expected_rows, expected_problems = CASES[case]
    found, fixes, problems = imported(write("history.dat", content))
    assert found == fmt
    assert rows(fixes) == expected_rows
    assert [(w, r.split(" [")[0]) for w, r in problems] == expected_problems


def test_gpx_keeps_speed_altitude_and_names_the_app(write):
    _, fixes, _ = imported(write("track.gpx", GPX_11))
    track = fixes[2]
    assert (track.altitude_m, track.speed_mps, track.source) == (34.5, 2.8, "gpslogger")


def test_owntracks_units_match_the_live_mapper(write):
    _, fixes, _ = imported(write("2024-05.rec", rec("\t")))
    first = fixes[0]
    assert first.speed_mps == pytest.approx(10.0)
    assert (first.battery_level, first.accuracy_m, first.source) == (
        0.8,
        10,
        "owntracks",
    )


def test_geojson_and_csv_units(write):
    _, (dawarich, *_), _ = imported(write("export.json", json.dumps(GEOJSON)))
    assert (dawarich.speed_mps, dawarich.battery_level) == (1.5, 0.8)
    _, (row,), _ = imported(
        write(
            "osmand.csv",
            CASES["csv: Dawarich-style epoch seconds, OsmAnd-style names"][0],
        )
    )
    assert (row.altitude_m, row.speed_mps, row.battery_level) == (34, 1.5, 0.85)


def test_kml_extended_data_is_kept(write):
    _, fixes, _ = imported(write("doc.kml", KML))
    both = fixes[3]
    assert (both.speed_mps, both.battery_level) == (1.5, 0.85)


def test_a_kmz_is_its_kml(write, tmp_path):
    path = tmp_path / "trip.kmz"
    with zipfile.ZipFile(path, "w") as kmz:
        kmz.writestr("doc.kml", KML)
    found, fixes, _ = imported(path)
    assert found == "kml"
    assert len(fixes) == 7


def test_format_override_reads_what_sniffing_cannot_tell(write):
    # The head sniffing reads (64 KiB) shows no telling key before "features".
    late = {"name": "x" * 70_000, **GEOJSON}
    path = write("late.json", json.dumps(late))
    assert imported(path)[0] is None
    found, fixes, _ = imported(path, "geojson")
    assert (found, len(fixes)) == ("geojson", 4)


def test_a_csv_without_a_time_column_is_refused_as_a_whole(write):
    path = write("points.csv", "lat,lon\n52.5,13.4\n")
    with pytest.raises(HistoryFormatError, match="names no time column"):
        imported(path)
