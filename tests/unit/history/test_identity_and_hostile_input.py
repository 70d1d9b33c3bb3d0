"""Event identity across imports and the live API; hostile files fail cleanly."""

from __future__ import annotations

import json
import zipfile

import pytest

from ingest_api.compat import overland, owntracks
from ingest_api.compat.fixes import to_fixes
from ingest_api.history import HistoryFormatError
from ingest_api.history.load import events, inputs
from ingest_api.history.sniff import sniff
from loom_core.contracts import utc_now
from tests.unit.history.conftest import imported

MESSAGE = {
    "_type": "location",
    "lat": 52.5200001,
    "lon": 13.405,
    "tst": 1714550400,
    "acc": 10,
    "vel": 36,
    "batt": 80,
}


def rec_line(message: dict) -> str:
    return f"2024-05-01T08:00:00Z\t*\t{json.dumps(message)}\n"


def test_same_second_other_place_lands_twice_and_an_exact_repeat_once(write):
    other_place = {**MESSAGE, "lat": 52.5200002}
    path = write("x.rec", "".join(map(rec_line, [MESSAGE, other_place, MESSAGE])))
    _, fixes, _ = imported(path)
    ids = [f.event_id for f in fixes]
    assert len(ids) == 3
    assert ids[0] == ids[2]  # the repeat: one row downstream
    assert len(set(ids)) == 2  # the other place: its own row


def test_a_point_posted_live_and_imported_later_is_one_event(write):
    live = to_fixes(owntracks.points(MESSAGE), "phone", owntracks.SOURCE, utc_now())
    _, imported_fixes, _ = imported(write("2024-05.rec", rec_line(MESSAGE)))
    assert [f.event_id for f in imported_fixes] == [f.event_id for f in live]

    feature = {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [13.405, 52.52]},
        "properties": {"timestamp": "2024-05-01T08:00:00Z", "speed": 1.5},
    }
    batch = {"locations": [feature]}
    live = to_fixes(overland.points(batch), "phone", overland.SOURCE, utc_now())
    _, imported_fixes, _ = imported(write("batch.json", json.dumps(batch)))
    assert [f.event_id for f in imported_fixes] == [f.event_id for f in live]


def test_importing_twice_gives_the_same_ids(write):
    path = write("x.rec", rec_line(MESSAGE))
    assert imported(path)[1][0].event_id == imported(path)[1][0].event_id


BOMB = """<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;">]>
<gpx><wpt lat="1" lon="1"><name>&lol2;</name><time>2024-05-01T08:00:00Z</time></wpt></gpx>"""


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (BOMB, "refused: the XML declares entities"),
        ("<gpx><trk><trkseg><trkpt lat='1' lon='1'>", "not well-formed XML"),
        ('{"locations": [ {"latitudeE7": 1,, } ]}', "not valid JSON"),
        ("<kml><Placemark></gpx>", "not well-formed XML"),
    ],
)
def test_broken_or_hostile_files_are_one_format_error(write, content, message):
    with pytest.raises(HistoryFormatError, match=message):
        imported(write("f.dat", content))


def test_forcing_the_wrong_xml_format_names_the_root(write):
    path = write("f.gpx", "<kml><Document/></kml>")
    with pytest.raises(HistoryFormatError, match="root element is <kml>, not <gpx>"):
        imported(path, "gpx")


@pytest.mark.parametrize(
    ("head", "fmt"),
    [
        (b"\xef\xbb\xbf \n<?xml version='1.0'?><!-- x --><gpx version='1.1'>", "gpx"),
        (b"<kml:kml xmlns:kml='http://www.opengis.net/kml/2.2'>", "kml"),
        (b"<TrainingCenterDatabase>", "tcx"),
        (b"\x0e\x10\x00\x00\x00\x00\x00\x00.FIT", "fit"),
        (b"PK\x03\x04", "zip"),
        (b'{"locations": [{"latitudeE7": 1', "google-records"),
        (b'{"locations": [{"type": "Feature", "geometry"', "overland"),
        (b'{"timelineObjects": [', "google-semantic"),
        (b'{"semanticSegments": [', "google-timeline"),
        (
            b'[{"endTime": "2023-08-27T17:04:26.999-05:00", "startTime"',
            "google-timeline",
        ),
        (b'{"type": "FeatureCollection", "features": [', "geojson"),
        (b'2023-02-20T18:46:22Z  *     {"_type":"location"', "owntracks"),
        (b"time;lat;lon\n", "csv"),
        (b"hello world\n", None),
        (b'{"something": []}', None),
    ],
)
def test_sniffing_tells_formats_from_their_bytes(head, fmt):
    assert sniff(head) == fmt


def test_a_zip_imports_every_member_it_recognises(tmp_path):
    path = tmp_path / "takeout-20240501.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(
            "Takeout/Location History/Records.json",
            json.dumps(
                {
                    "locations": [
                        {
                            "latitudeE7": 1,
                            "longitudeE7": 2,
                            "timestamp": "2024-05-01T08:00:00Z",
                        }
                    ]
                }
            ),
        )
        archive.writestr("Takeout/Location History/Settings.json", '{"devices": []}')
        archive.writestr("Takeout/archive_browser.html", "<html></html>")
        inner = tmp_path / "inner.kmz"
        with zipfile.ZipFile(inner, "w") as kmz:
            kmz.writestr(
                "doc.kml",
                "<kml><Placemark><TimeStamp><when>2024-05-01T08:00:00Z</when></TimeStamp><Point><coordinates>1,2</coordinates></Point></Placemark></kml>",
            )
        archive.write(inner, "Takeout/trip.kmz")
    found = {item.name: item.fmt for item in inputs(path)}
    assert found == {
        "takeout-20240501.zip/Takeout/Location History/Records.json": "google-records",
        "takeout-20240501.zip/Takeout/Location History/Settings.json": None,
        "takeout-20240501.zip/Takeout/archive_browser.html": None,
        "takeout-20240501.zip/Takeout/trip.kmz/doc.kml": "kml",
    }


def test_progress_is_told_in_bytes_of_the_whole_import(tmp_path):
    line = rec_line(MESSAGE)
    for name in ("a.rec", "b.rec"):
        (tmp_path / name).write_text(line * 5_000)
    size = len(line.encode()) * 5_000
    seen = []
    for item in inputs(tmp_path):
        for _ in events(item, "phone"):
            pass
        seen.append(item.position())
    assert seen == [size, 2 * size]
