"""Tracker apps post their own formats; the fixes land in SI units, replays once."""

import time
from datetime import UTC, datetime

import pytest

from loom_core.contracts import FAMILIES
from tests.integration.ingest_api.conftest import read_new, watermarks

GPS_TOPIC = FAMILIES["gps"].topic.name


def owntracks_message(tst, **fields):
    return {"_type": "location", "lat": 52.5, "lon": 13.4, "tst": tst, **fields}


@pytest.fixture
def since(settings):
    """Where the GPS topic ends before the test posts."""
    return watermarks(settings.kafka_bootstrap, GPS_TOPIC)


def new_fixes(settings, since, device, count):
    fixes = read_new(settings.kafka_bootstrap, GPS_TOPIC, since, device.device_id)
    assert len(fixes) == count
    return fixes


def test_owntracks_location_lands_in_si_units(client, device, settings, since):
    tst = int(time.time()) - 30
    response = client.post(
        "/v1/compat/owntracks",
        json=owntracks_message(tst, acc=9, alt=40, vel=54, batt=77, cog=90, tid="ph"),
        auth=(device.device_id, device.key),
        headers={"X-Limit-U": device.device_id, "X-Limit-D": "phone"},
    )
    assert response.status_code == 200
    assert response.json() == []
    (fix,) = new_fixes(settings, since, device, 1)
    assert fix["device_id"] == device.device_id
    assert (fix["latitude"], fix["longitude"]) == (52.5, 13.4)
    assert datetime.fromisoformat(fix["recorded_at"]) == datetime.fromtimestamp(
        tst, UTC
    )
    assert fix["speed_mps"] == pytest.approx(15.0)
    assert fix["battery_level"] == pytest.approx(0.77)
    assert (fix["accuracy_m"], fix["altitude_m"], fix["bearing_deg"]) == (9, 40, 90)
    assert fix["source"] == "owntracks"


def test_owntracks_replay_gets_the_same_id(client, device, settings, since):
    message = owntracks_message(int(time.time()) - 60)
    for _ in range(2):
        client.post(
            "/v1/compat/owntracks", json=message, auth=(device.device_id, device.key)
        )
    first, again = new_fixes(settings, since, device, 2)
    assert first["event_id"] == again["event_id"]


def test_owntracks_other_types_are_accepted_and_ignored(
    client, device, settings, since
):
    response = client.post(
        "/v1/compat/owntracks",
        json={"_type": "transition", "event": "enter", "tst": int(time.time())},
        auth=(device.device_id, device.key),
    )
    assert (response.status_code, response.json()) == (200, [])
    assert new_fixes(settings, since, device, 0) == []


def test_owntracks_device_names_must_match_the_key(client, device):
    message = owntracks_message(int(time.time()))
    as_other_user = client.post(
        "/v1/compat/owntracks", json=message, auth=("someone", device.key)
    )
    assert as_other_user.status_code == 403
    other_limit_d = client.post(
        "/v1/compat/owntracks",
        json=message,
        headers={**device.headers, "X-Limit-D": "someone"},
    )
    assert other_limit_d.status_code == 403
    assert "set the app's device id" in other_limit_d.json()["detail"]


def test_overland_batch_answers_result_ok(client, device, settings, since):
    now = datetime.now(UTC).replace(microsecond=0)
    features = [
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [13.4 + i / 100, 52.5]},
            "properties": {
                "timestamp": now.replace(second=i).isoformat().replace("+00:00", "Z"),
                "speed": 2.0 if i else -1,
                "horizontal_accuracy": 5,
                "battery_level": 0.5,
                "battery_state": "unplugged",
                "motion": ["walking"],
            },
        }
        for i in range(3)
    ]
    response = client.post(
        "/v1/compat/overland", json={"locations": features}, headers=device.headers
    )
    assert response.status_code == 200
    assert response.json()["result"] == "ok"
    fixes = new_fixes(settings, since, device, 3)
    assert [f["longitude"] for f in fixes] == [13.4, 13.41, 13.42]
    assert [f["speed_mps"] for f in fixes] == [None, 2.0, 2.0]
    assert {f["source"] for f in fixes} == {"overland"}


def test_overland_bad_location_is_422_with_its_index(client, device, settings, since):
    feature = {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [200, 52.5]},
        "properties": {"timestamp": datetime.now(UTC).isoformat()},
    }
    response = client.post(
        "/v1/compat/overland", json={"locations": [feature]}, headers=device.headers
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == [
        "body",
        "locations",
        0,
        "geometry",
        "coordinates",
        0,
    ]
    assert new_fixes(settings, since, device, 0) == []


def test_gpslogger_get_with_key_in_url(client, device, settings, since):
    ts = int(time.time()) - 5
    params = {
        "lat": "48.1",
        "lon": "11.5",
        "timestamp": str(ts),
        "alt": "",
        "acc": "6",
        "spd": "3.5",
        "batt": "42",
        "dir": "",
        "key": device.key,
    }
    response = client.get("/v1/compat/gpslogger", params=params)
    assert response.status_code == 200
    (fix,) = new_fixes(settings, since, device, 1)
    assert (fix["latitude"], fix["speed_mps"], fix["altitude_m"]) == (48.1, 3.5, None)
    assert fix["battery_level"] == pytest.approx(0.42)
    assert fix["source"] == "gpslogger"


def test_gpslogger_post_form_and_json(client, device, settings, since):
    iso = datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    form = client.post(
        "/v1/compat/gpslogger",
        data={"lat": "1.5", "lon": "2.5", "time": iso},
        auth=(device.device_id, device.key),
    )
    as_json = client.post(
        "/v1/compat/gpslogger",
        json={"lat": 1.5, "lon": 2.5, "time": iso},
        headers=device.headers,
    )
    assert (form.status_code, as_json.status_code) == (200, 200)
    first, second = new_fixes(settings, since, device, 2)
    assert first["event_id"] == second["event_id"]  # the same point, replayed


def test_gpslogger_missing_time_is_named(client, device):
    response = client.get(
        "/v1/compat/gpslogger", params={"lat": "1", "lon": "2", "key": device.key}
    )
    assert response.status_code == 422
    assert "%TIME" in response.json()["detail"][0]["msg"]


def test_osmand_query_in_knots_and_ms(client, device, settings, since):
    ms = int(time.time() * 1000) - 2000
    response = client.post(
        "/v1/compat/osmand",
        params={
            "id": device.device_id,
            "lat": "-33.86",
            "lon": "151.2",
            "timestamp": str(ms),
            "speed": "20",
            "bearing": "10",
            "altitude": "5",
            "accuracy": "3",
            "batt": "64",
            "key": device.key,
        },
    )
    assert response.status_code == 200
    (fix,) = new_fixes(settings, since, device, 1)
    assert fix["speed_mps"] == pytest.approx(20 * 1852 / 3600)
    recorded = datetime.fromisoformat(fix["recorded_at"])
    assert recorded == datetime.fromtimestamp(ms / 1000, UTC)
    assert fix["source"] == "osmand"


def test_traccar_client_json(client, device, settings, since):
    body = {
        "location": {
            "timestamp": datetime.now(UTC).isoformat(),
            "coords": {
                "latitude": 10.5,
                "longitude": 20.5,
                "speed": 1.5,
                "heading": -1,
            },
            "battery": {"level": 0.3, "is_charging": True},
        },
        "device_id": device.device_id,
    }
    response = client.post("/v1/compat/traccar", json=body, params={"key": device.key})
    assert response.status_code == 200
    (fix,) = new_fixes(settings, since, device, 1)
    assert (fix["latitude"], fix["speed_mps"], fix["bearing_deg"]) == (10.5, 1.5, None)
    assert fix["source"] == "traccar"
    assert fix["battery_level"] == 0.3


def test_osmand_foreign_id_is_403(client, device):
    response = client.get(
        "/v1/compat/osmand",
        params={
            "id": "not-mine",
            "lat": "1",
            "lon": "2",
            "timestamp": "1714564800",
            "key": device.key,
        },
    )
    assert response.status_code == 403
