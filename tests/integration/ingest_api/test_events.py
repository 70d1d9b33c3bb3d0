"""POST /v1/events/{family} and /v1/events:batch: what is acknowledged is in Kafka."""

import json
import uuid
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from fastapi.testclient import TestClient

from ingest_api import registry
from ingest_api.app import create_app
from loom_core.contracts import FAMILIES
from tests.integration.ingest_api.conftest import headers, read_back, register, value
from tests.integration.ingest_api.payloads import JPEG, payloads


def same_time(a: str, b: str) -> bool:
    return datetime.fromisoformat(a) == datetime.fromisoformat(b)


def assert_lands_as_posted(message, posted: dict, device) -> dict:
    """Compare a Kafka message with the body that was posted, field by field."""
    produced = value(message)
    assert message.key() == device.device_id.encode()
    assert produced["schema_version"] == 1
    assert produced["device_id"] == device.device_id
    assert uuid.UUID(produced["event_id"])
    received = datetime.fromisoformat(produced["received_at"])
    assert abs(datetime.now(UTC) - received) < timedelta(minutes=5)
    for field, sent in posted.items():
        if field == "recorded_at":
            assert same_time(produced[field], sent)
            assert produced[field].endswith(("Z", "+00:00"))
        else:
            assert produced[field] == sent, field
    return produced


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_each_family_lands_in_its_topic_field_by_field(
    client, device, settings, family
):
    body = payloads()[family]
    response = client.post(f"/v1/events/{family}", json=body, headers=device.headers)
    assert response.status_code == 202, response.text
    ack = response.json()
    assert ack["topic"] == FAMILIES[family].topic.name
    (message,) = read_back(settings.kafka_bootstrap, [ack])
    produced = assert_lands_as_posted(message, body, device)
    assert produced["event_id"] == ack["event_id"]
    if family == "camera":
        assert produced["pairing"] == "single"
        assert ack["pairing"] == "single"


def test_a_retried_post_gets_the_same_id(client, device, settings):
    body = payloads()["heartrate"]
    first = client.post("/v1/events/heartrate", json=body, headers=device.headers)
    again = client.post("/v1/events/heartrate", json=body, headers=device.headers)
    other = client.post(
        "/v1/events/heartrate", json={**body, "bpm": 65}, headers=device.headers
    )
    assert first.json()["event_id"] == again.json()["event_id"]
    assert other.json()["event_id"] != first.json()["event_id"]
    messages = read_back(settings.kafka_bootstrap, [first.json(), again.json()])
    assert {value(m)["event_id"] for m in messages} == {first.json()["event_id"]}


def test_a_client_event_id_and_own_device_id_are_kept(client, device, settings):
    event_id = str(uuid.uuid4())
    body = {**payloads()["steps"], "event_id": event_id, "device_id": device.device_id}
    response = client.post("/v1/events/steps", json=body, headers=device.headers)
    assert response.json()["event_id"] == event_id
    (message,) = read_back(settings.kafka_bootstrap, [response.json()])
    assert value(message)["event_id"] == event_id


def test_the_clients_trace_context_reaches_the_kafka_headers(client, device, settings):
    traceparent = f"00-{uuid.uuid4().hex}-{uuid.uuid4().hex[:16]}-01"
    response = client.post(
        "/v1/events/gps",
        json=payloads()["gps"],
        headers={**device.headers, "traceparent": traceparent},
    )
    (message,) = read_back(settings.kafka_bootstrap, [response.json()])
    assert headers(message)["traceparent"] == traceparent.encode()


def test_a_batch_answers_per_item_and_lands_the_good_ones(client, device, settings):
    bodies = payloads()
    events = [
        {"family": "gps", **bodies["gps"]},
        {"family": "heartrate", **bodies["heartrate"], "bpm": 900},
        {"family": "steps", **bodies["steps"]},
        {"family": "weather"},
        {"family": "gps", **bodies["gps"], "device_id": "someone-else"},
        "not an event",
        {"family": "camera", **bodies["camera"], "pair_id": "p"},
        {
            "family": "camera",
            **bodies["camera"],
            "images": [
                {"camera": "front", "data": JPEG},
                {"camera": "back", "data": JPEG},
            ],
        },
    ]
    response = client.post(
        "/v1/events:batch", json={"events": events}, headers=device.headers
    )
    assert response.status_code == 207
    result = response.json()
    statuses = [r["status"] for r in result["results"]]
    assert statuses == [202, 422, 202, 422, 403, 422, 422, 202]
    assert (result["accepted"], result["rejected"]) == (3, 5)
    assert result["results"][1]["detail"][0]["loc"] == ["body", "events", 1, "bpm"]
    assert result["results"][3]["detail"][0]["loc"][-1] == "family"
    assert "POST /v1/events/camera" in result["results"][6]["detail"][0]["msg"]
    accepted = [r for r in result["results"] if r["status"] == 202]
    gps, steps, pair = read_back(settings.kafka_bootstrap, accepted)
    assert_lands_as_posted(gps, bodies["gps"], device)
    assert_lands_as_posted(steps, bodies["steps"], device)
    assert value(pair)["pairing"] == "paired"
    assert [i["camera"] for i in value(pair)["images"]] == ["front", "back"]


def test_a_batch_of_good_events_is_200(client, device, settings):
    now = datetime.now(UTC)
    events = [
        {
            "family": "gps",
            "recorded_at": (now - timedelta(seconds=i)).isoformat(),
            "latitude": 48.0 + i / 1000,
            "longitude": 11.0,
        }
        for i in range(100)
    ]
    response = client.post(
        "/v1/events:batch", json={"events": events}, headers=device.headers
    )
    assert response.status_code == 200
    results = response.json()["results"]
    assert [r["index"] for r in results] == list(range(100))
    messages = read_back(settings.kafka_bootstrap, results)
    assert [value(m)["latitude"] for m in messages] == [e["latitude"] for e in events]


def test_a_batch_has_limits(client, device):
    too_many = {"events": [{"family": "gps"}] * 1001}
    assert (
        client.post(
            "/v1/events:batch", json=too_many, headers=device.headers
        ).status_code
        == 422
    )
    empty = client.post("/v1/events:batch", json={"events": []}, headers=device.headers)
    assert empty.status_code == 422


@pytest.mark.parametrize(
    ("change", "loc"),
    [
        ({"latitude": 90.5}, ["body", "latitude"]),
        ({"longitude": -181}, ["body", "longitude"]),
        (
            {"recorded_at": (datetime.now(UTC) + timedelta(days=2)).isoformat()},
            ["body", "recorded_at"],
        ),
        ({"recorded_at": "2024-05-01T12:00:00"}, ["body", "recorded_at"]),
        ({"received_at": datetime.now(UTC).isoformat()}, ["body", "received_at"]),
        ({"speed_mps": "fast"}, ["body", "speed_mps"]),
    ],
)
def test_bad_fields_get_422_naming_them(client, device, change, loc):
    body = {**payloads()["gps"], **change}
    response = client.post("/v1/events/gps", json=body, headers=device.headers)
    assert response.status_code == 422
    assert loc in [e["loc"] for e in response.json()["detail"]]


def test_nan_and_malformed_json_get_422(client, device):
    nan = json.dumps(payloads()["gps"]).replace("52.520008", "NaN").encode()
    response = client.post(
        "/v1/events/gps",
        content=nan,
        headers={**device.headers, "content-type": "application/json"},
    )
    assert response.status_code == 422
    assert ["body", "latitude"] in [e["loc"] for e in response.json()["detail"]]
    broken = client.post(
        "/v1/events/gps",
        content=b'{"latitude": 1,',
        headers={**device.headers, "content-type": "application/json"},
    )
    assert broken.status_code == 422
    assert "not valid JSON" in broken.json()["detail"][0]["msg"]
    not_utf8 = client.post(
        "/v1/events/gps",
        content=b"\xff\xfe{",
        headers={**device.headers, "content-type": "application/json"},
    )
    assert not_utf8.status_code == 422
    assert not_utf8.json()["detail"][0]["loc"] == ["body"]


def test_an_unknown_family_is_404_with_the_list(client, device):
    response = client.post("/v1/events/weather", json={}, headers=device.headers)
    assert response.status_code == 404
    assert "known families: accelerometer" in response.json()["detail"]


def test_audio_data_of_an_odd_length_is_422(client, device):
    body = {**payloads()["audio"], "data": "AAAA"}
    response = client.post("/v1/events/audio", json=body, headers=device.headers)
    assert response.status_code == 422
    assert "whole 16-bit samples" in response.text


def test_a_large_frame_goes_through_and_too_large_ones_get_413(
    device, api_settings, settings
):
    big = "A" * (3 * 1024 * 1024)  # 2.25 MiB of image bytes
    body = {**payloads()["camera"], "images": [{"data": big}]}
    small_limits = api_settings.model_copy(update={"max_body_bytes": 4 * 1024 * 1024})
    with TestClient(create_app(small_limits)) as client:
        response = client.post("/v1/events/camera", json=body, headers=device.headers)
        assert response.status_code == 202, response.text
        (message,) = read_back(settings.kafka_bootstrap, [response.json()])
        assert len(value(message)["images"][0]["data"]) == len(big)
        huge = {**body, "images": [{"data": "A" * (5 * 1024 * 1024)}]}
        too_big = client.post("/v1/events/camera", json=huge, headers=device.headers)
        assert too_big.status_code == 413
        assert "LOOM_MAX_BODY_BYTES" in too_big.json()["detail"]
    tight_kafka = api_settings.model_copy(update={"kafka_max_message_bytes": 100_000})
    with TestClient(create_app(tight_kafka)) as client:
        response = client.post("/v1/events/camera", json=body, headers=device.headers)
        assert response.status_code == 413
        assert "over the limit of 100000" in response.json()["detail"]


# -- auth ---------------------------------------------------------------------------
def test_every_way_of_sending_the_key(client, device):
    body = payloads()["power"]
    ways = [
        {"headers": {"X-API-Key": device.key}},
        {"auth": (device.device_id, device.key)},
        {"params": {"key": device.key}},
        {"auth": ("", device.key)},
    ]
    for way in ways:
        response = client.post("/v1/events/power", json=body, **way)
        assert response.status_code == 202, (way, response.text)


def test_no_wrong_or_foreign_keys(client, device, settings):
    body = payloads()["power"]
    missing = client.post("/v1/events/power", json=body)
    assert missing.status_code == 401
    assert "loom devices add" in missing.json()["detail"]
    assert "Bearer" in missing.headers["www-authenticate"]
    wrong = client.post(
        "/v1/events/power", json=body, headers={"X-API-Key": "loom_nope"}
    )
    assert wrong.status_code == 401
    other = register(settings.database_url)
    foreign = client.post(
        "/v1/events/power", json=body, auth=(other.device_id, device.key)
    )
    assert foreign.status_code == 403
    named = client.post(
        "/v1/events/power",
        json={**body, "device_id": other.device_id},
        headers=device.headers,
    )
    assert named.status_code == 403
    assert device.device_id in named.json()["detail"]


def test_a_revoked_key_is_refused_at_once_despite_the_cache(client, settings):
    doomed = register(settings.database_url)
    body = payloads()["power"]
    assert (
        client.post("/v1/events/power", json=body, headers=doomed.headers).status_code
        == 202
    )
    # Make sure the key is cached now (the LISTEN connection is up by now).
    assert (
        client.post("/v1/events/power", json=body, headers=doomed.headers).status_code
        == 202
    )
    with psycopg.connect(settings.database_url) as conn:
        registry.revoke(conn, doomed.device_id)
    statuses = []
    for _ in range(50):
        statuses.append(
            client.post(
                "/v1/events/power", json=body, headers=doomed.headers
            ).status_code
        )
        if statuses[-1] == 401:
            break
    # NOTIFY is delivered on commit; at most a request or two can race it.
    assert statuses[-1] == 401
    assert len(statuses) <= 3


@pytest.mark.parametrize("family", [{}, [], 5, None])
def test_a_batch_item_whose_family_is_not_a_name(client, device, family):
    # Found by schemathesis: an unhashable family once raised a TypeError (500).
    response = client.post(
        "/v1/events:batch",
        json={"events": [{"family": family}]},
        headers=device.headers,
    )
    assert response.status_code == 422
    assert response.json()["results"][0]["detail"][0]["loc"][-1] == "family"
