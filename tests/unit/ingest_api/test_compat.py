"""The tracker apps' formats, mapped to GpsFix with SI units and the apps' names."""

import time
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.exceptions import RequestValidationError

from ingest_api.compat import gpslogger, osmand, overland, owntracks
from ingest_api.compat.fixes import to_fixes
from loom_core.contracts.ids import derived_event_id

NOW = int(time.time())
T = datetime.fromtimestamp(NOW, UTC)


def locs(exc: RequestValidationError) -> list[list]:
    return [list(e["loc"]) for e in exc.errors()]


def fix_of(points, source="test", device="phone"):
    (fix,) = to_fixes(points, device, source, datetime.now(UTC))
    return fix


# -- OwnTracks ------------------------------------------------------------------------
def test_owntracks_location_in_si_units():
    points = owntracks.points(
        {
            "_type": "location",
            "lat": 52.52,
            "lon": 13.405,
            "tst": NOW,
            "acc": 12,
            "alt": 34,
            "vel": 36,
            "batt": 80,
            "cog": 270,
            "tid": "ph",
            "conn": "w",
        }
    )
    fix = fix_of(points, owntracks.SOURCE)
    assert (fix.latitude, fix.longitude) == (52.52, 13.405)
    assert fix.recorded_at == T
    assert fix.speed_mps == pytest.approx(10.0)
    assert fix.battery_level == pytest.approx(0.8)
    assert (fix.accuracy_m, fix.altitude_m, fix.bearing_deg) == (12, 34, 270)
    assert fix.source == "owntracks"
    assert fix.event_id == derived_event_id(
        "phone", T, "owntracks", latitude=fix.latitude, longitude=fix.longitude
    )


@pytest.mark.parametrize("kind", ["transition", "waypoint", "lwt", "card", None])
def test_owntracks_other_types_are_ignored(kind):
    assert owntracks.points({"_type": kind, "lat": 1}) == []


def test_owntracks_list_of_messages():
    points = owntracks.points(
        [
            {"_type": "location", "lat": 1, "lon": 2, "tst": NOW},
            {"_type": "lwt", "tst": NOW},
            {"_type": "location", "lat": 3, "lon": 4, "tst": NOW + 1},
        ]
    )
    assert [p.fields["latitude"] for p in points] == [1, 3]
    assert points[1].loc == ("body", 2)


def test_owntracks_encrypted_payload_says_how_to_fix_it():
    with pytest.raises(RequestValidationError) as caught:
        owntracks.points({"_type": "encrypted", "data": "..."})
    assert "encryption key" in caught.value.errors()[0]["msg"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"lat": None}, "lat"),
        ({"tst": "soon"}, "tst"),
        ({"batt": 150}, "batt"),
        ({"vel": "fast"}, "vel"),
    ],
)
def test_owntracks_errors_name_the_apps_field(change, field):
    message = {"_type": "location", "lat": 1, "lon": 2, "tst": NOW, **change}
    with pytest.raises(RequestValidationError) as caught:
        owntracks.points(message)
    assert ["body", field] in locs(caught.value)


def test_owntracks_out_of_range_values_are_named_after_mapping():
    points = owntracks.points({"_type": "location", "lat": 91, "lon": 2, "tst": NOW})
    with pytest.raises(RequestValidationError) as caught:
        to_fixes(points, "phone", "owntracks", datetime.now(UTC))
    assert locs(caught.value) == [["body", "lat"]]


def test_owntracks_future_timestamp_names_tst():
    future = NOW + 3 * 86_400
    points = owntracks.points({"_type": "location", "lat": 1, "lon": 2, "tst": future})
    with pytest.raises(RequestValidationError) as caught:
        to_fixes(points, "phone", "owntracks", datetime.now(UTC))
    assert locs(caught.value) == [["body", "tst"]]
    assert "future" in caught.value.errors()[0]["msg"]


def test_owntracks_non_object_is_refused():
    with pytest.raises(RequestValidationError):
        owntracks.points("location")


# -- Overland -------------------------------------------------------------------------
def feature(lon=13.4, lat=52.5, **props):
    return {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [lon, lat]},
        "properties": {"timestamp": T.isoformat().replace("+00:00", "Z"), **props},
    }


def test_overland_coordinates_are_lon_lat_and_units_kept():
    points = overland.points(
        {
            "locations": [
                feature(
                    speed=3.5,
                    horizontal_accuracy=5,
                    altitude=40,
                    battery_level=0.67,
                    course=90,
                    motion=["walking"],
                )
            ]
        }
    )
    fix = fix_of(points, overland.SOURCE)
    assert (fix.latitude, fix.longitude) == (52.5, 13.4)
    assert fix.speed_mps == 3.5
    assert fix.battery_level == 0.67
    assert (fix.accuracy_m, fix.altitude_m, fix.bearing_deg) == (5, 40, 90)
    assert fix.recorded_at == T


def test_overland_unknown_values_are_dropped_not_stored_as_minus_one():
    points = overland.points(
        {
            "locations": [
                feature(speed=-1, course=-1, horizontal_accuracy=-1, battery_level=-1)
            ]
        }
    )
    fix = fix_of(points)
    assert fix.speed_mps is None
    assert fix.bearing_deg is None
    assert fix.accuracy_m is None
    assert fix.battery_level is None


def test_overland_altitude_may_come_as_third_coordinate():
    body = feature()
    body["geometry"]["coordinates"].append(120.5)
    assert fix_of(overland.points({"locations": [body]})).altitude_m == 120.5


def test_overland_skips_trips_visits_and_non_points():
    trip = feature(type="trip", mode="walking")
    line = {"type": "Feature", "geometry": {"type": "LineString"}, "properties": {}}
    points = overland.points({"locations": [trip, line, feature()]})
    assert len(points) == 1
    assert points[0].loc == ("body", "locations", 2)


def test_overland_errors_name_location_and_field():
    body = {"locations": [feature(), feature(lat=95), feature(speed="x")]}
    with pytest.raises(RequestValidationError) as caught:
        overland.points(body)
    assert ["body", "locations", 2, "properties", "speed"] in locs(caught.value)
    points = overland.points({"locations": [feature(), feature(lat=95)]})
    with pytest.raises(RequestValidationError) as caught:
        to_fixes(points, "p", "overland", datetime.now(UTC))
    assert locs(caught.value) == [
        ["body", "locations", 1, "geometry", "coordinates", 1]
    ]


def test_overland_needs_locations():
    with pytest.raises(RequestValidationError) as caught:
        overland.points({"loc": []})
    assert ["body", "locations"] in locs(caught.value)


def test_overland_device_id_names_the_device():
    (point,) = overland.points({"locations": [feature(device_id="iphone")]})
    assert point.named_device == "iphone"
    (point,) = overland.points({"locations": [feature(device_id="")]})
    assert point.named_device is None


# -- GPSLogger ------------------------------------------------------------------------
def test_gpslogger_query_strings_with_empty_unknowns():
    points = gpslogger.points(
        {
            "lat": "52.5",
            "lon": "13.4",
            "time": T.isoformat().replace("+00:00", "Z"),
            "alt": "",
            "acc": "8.0",
            "spd": "2.5",
            "dir": "",
            "batt": "55",
            "prov": "gps",
        }
    )
    fix = fix_of(points, gpslogger.SOURCE)
    assert (fix.latitude, fix.longitude, fix.recorded_at) == (52.5, 13.4, T)
    assert fix.altitude_m is None
    assert fix.bearing_deg is None
    assert fix.speed_mps == 2.5
    assert fix.accuracy_m == 8.0
    assert fix.battery_level == pytest.approx(0.55)


def test_gpslogger_epoch_timestamp():
    points = gpslogger.points({"lat": "1", "lon": "2", "timestamp": str(NOW)})
    assert points[0].recorded_at == T
    assert points[0].names["recorded_at"] == "timestamp"


def test_gpslogger_needs_a_time():
    with pytest.raises(RequestValidationError) as caught:
        gpslogger.points({"lat": "1", "lon": "2", "time": ""})
    assert "%TIME" in caught.value.errors()[0]["msg"]


def test_gpslogger_bad_value_is_named():
    with pytest.raises(RequestValidationError) as caught:
        gpslogger.points({"lat": "north", "lon": "2", "timestamp": str(NOW)})
    assert locs(caught.value) == [["query", "lat"]]


# -- OsmAnd / Traccar -----------------------------------------------------------------
def test_osmand_speed_in_knots_and_ms_timestamps():
    points = osmand.points(
        {
            "id": "phone",
            "lat": "52.5",
            "lon": "13.4",
            "timestamp": str(NOW * 1000),
            "speed": "10",
            "bearing": "180",
            "altitude": "33",
            "accuracy": "4",
            "batt": "91",
            "hdop": "0.9",
        }
    )
    fix = fix_of(points, osmand.SOURCE)
    assert fix.recorded_at == T
    assert fix.speed_mps == pytest.approx(5.14444, rel=1e-5)
    assert (fix.bearing_deg, fix.altitude_m, fix.accuracy_m) == (180, 33, 4)
    assert fix.battery_level == pytest.approx(0.91)
    assert points[0].named_device == "phone"


def test_osmand_location_pair_heading_and_iso_time():
    (point,) = osmand.points(
        {"location": "52.5,13.4", "timestamp": "2024-05-01 12:00:00", "heading": "45"}
    )
    assert (point.fields["latitude"], point.fields["longitude"]) == (52.5, 13.4)
    assert point.fields["bearing_deg"] == 45
    assert point.recorded_at == datetime(2024, 5, 1, 12, tzinfo=UTC)
    assert point.named_device is None


def test_osmand_app_speed_in_mps():
    (point,) = osmand.points({"lat": "1", "lon": "2", "timestamp": NOW, "spd": "3"})
    assert point.fields["speed_mps"] == 3


def test_osmand_bad_location_pair():
    with pytest.raises(RequestValidationError) as caught:
        osmand.points({"location": "52.5", "timestamp": NOW})
    assert "lat,lon" in str(caught.value.errors())


def test_osmand_errors_name_the_parameter():
    with pytest.raises(RequestValidationError) as caught:
        osmand.points({"lat": "1", "lon": "2"}, ("body",))
    assert locs(caught.value) == [["body", "timestamp"]]
    points = osmand.points({"lat": "1", "lon": "200", "timestamp": NOW})
    with pytest.raises(RequestValidationError) as caught:
        to_fixes(points, "p", "osmand", datetime.now(UTC))
    assert locs(caught.value) == [["query", "lon"]]


TRACCAR = {
    "location": {
        "timestamp": T.isoformat().replace("+00:00", ".587Z"),
        "coords": {
            "latitude": -37.69,
            "longitude": 145.06,
            "accuracy": 4.32,
            "speed": 0.11,
            "heading": 158.44,
            "altitude": 103,
        },
        "is_moving": True,
        "battery": {"level": 0.88, "is_charging": False},
    },
    "device_id": "82879256",
}


def test_traccar_json_form():
    assert osmand.is_traccar_json(TRACCAR)
    assert not osmand.is_traccar_json({"location": "1,2"})
    (point,) = osmand.traccar_points(TRACCAR)
    fix = fix_of([point], osmand.TRACCAR_SOURCE)
    assert (fix.latitude, fix.longitude) == (-37.69, 145.06)
    assert fix.speed_mps == 0.11  # m/s in the JSON form
    assert fix.battery_level == 0.88
    assert fix.bearing_deg == 158.44
    assert fix.recorded_at == T + timedelta(milliseconds=587)
    assert point.named_device == "82879256"


def test_traccar_json_errors_are_named_in_its_terms():
    body = {**TRACCAR, "location": {**TRACCAR["location"], "coords": {"latitude": 1}}}
    with pytest.raises(RequestValidationError) as caught:
        osmand.traccar_points(body)
    assert ["body", "location", "coords", "longitude"] in locs(caught.value)
    bad = {
        **TRACCAR,
        "location": {
            **TRACCAR["location"],
            "coords": {**TRACCAR["location"]["coords"], "heading": 400},
        },
    }
    with pytest.raises(RequestValidationError) as caught:
        to_fixes(osmand.traccar_points(bad), "p", "traccar", datetime.now(UTC))
    assert locs(caught.value) == [["body", "location", "coords", "heading"]]


def test_replayed_points_get_the_same_id_and_others_do_not():
    first = fix_of(gpslogger.points({"lat": 1, "lon": 2, "timestamp": NOW}))
    again = fix_of(gpslogger.points({"lat": 1, "lon": 2, "timestamp": NOW}))
    later = fix_of(gpslogger.points({"lat": 1, "lon": 2, "timestamp": NOW + 1}))
    assert first.event_id == again.event_id != later.event_id
