"""Servers really stopped: nothing is acknowledged that Kafka does not have.

These use private servers (``private_stack``) so the shared stack stays up.
"""

import time
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from ingest_api.app import create_app
from ingest_api.settings import IngestSettings
from tests.integration.ingest_api.conftest import read_back, register, value
from tests.integration.ingest_api.payloads import JPEG, payloads

RECOVERY_S = 60


def settings_with(shared, tmp_path, **servers) -> IngestSettings:
    return IngestSettings(
        kafka_bootstrap=servers.get("kafka_bootstrap", shared.kafka_bootstrap),
        redis_url=servers.get("redis_url", shared.redis_url),
        database_url=shared.database_url,
        home=shared.home,
        uploads_dir=tmp_path,
        pair_wait_seconds=1.0,
    )


def assert_unavailable(response, what: str) -> None:
    assert response.status_code == 503, response.text
    assert 1 <= int(response.headers["Retry-After"]) <= 5
    assert what in response.text


def test_kafka_down_is_503_and_nothing_is_acknowledged(
    private_stack, settings, tmp_path
):
    stack = private_stack("kafka")
    device = register(settings.database_url)
    api = settings_with(
        settings, tmp_path, kafka_bootstrap=stack.settings.kafka_bootstrap
    )
    bodies = payloads()
    with TestClient(create_app(api)) as client:
        before = client.post(
            "/v1/events/gps", json=bodies["gps"], headers=device.headers
        )
        assert before.status_code == 202

        stack.kill("kafka")
        started = time.monotonic()
        down = client.post(
            "/v1/events/steps", json=bodies["steps"], headers=device.headers
        )
        assert (
            time.monotonic() - started < 10
        )  # answered, not hung (5 s budget + slack)
        assert_unavailable(down, "Kafka")
        batch = client.post(
            "/v1/events:batch",
            json={"events": [{"family": "heartrate", **bodies["heartrate"]}]},
            headers=device.headers,
        )
        assert_unavailable(batch, "Kafka")
        assert batch.json()["results"][0]["status"] == 503
        app = client.post(
            "/v1/compat/owntracks",
            json={"_type": "location", "lat": 1, "lon": 2, "tst": int(time.time())},
            auth=(device.device_id, device.key),
        )
        assert_unavailable(app, "Kafka")
        lone = client.post(
            "/v1/events/camera",
            json={
                "recorded_at": datetime.now(UTC).isoformat(),
                "pair_id": "never-paired",
                "images": [{"camera": "front", "data": JPEG}],
            },
            headers=device.headers,
        )
        assert_unavailable(lone, "Kafka")
        ready = client.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["checks"]["kafka"] != "ok"
        assert ready.json()["checks"]["redis"] == "ok"
        with client.websocket_connect(f"/v1/stream/audio?key={device.key}") as ws:
            ws.receive_json()
            ws.send_bytes(b"\x00\x00" * 80_000)  # one full 5 s chunk
            error = ws.receive_json()
            assert error["type"] == "error"
            with pytest.raises(WebSocketDisconnect) as closed:
                ws.receive_json()
            assert closed.value.code == 1013  # try again later

        stack.restart("kafka")
        deadline = time.monotonic() + RECOVERY_S
        while True:  # as a client would: retry until the broker is back
            after = client.post(
                "/v1/events/steps", json=bodies["steps"], headers=device.headers
            )
            if after.status_code == 202 or time.monotonic() > deadline:
                break
            assert after.status_code == 503
        assert after.status_code == 202, after.text
        landed = read_back(
            stack.settings.kafka_bootstrap, [before.json(), after.json()]
        )
        assert [value(m)["event_id"] for m in landed] == [
            before.json()["event_id"],
            after.json()["event_id"],
        ]


def test_redis_down_stops_uploads_and_pairing_but_not_events(
    private_stack, settings, tmp_path
):
    stack = private_stack("redis")
    device = register(settings.database_url)
    api = settings_with(settings, tmp_path, redis_url=stack.settings.redis_url)
    bodies = payloads()
    with TestClient(create_app(api)) as client:
        created = client.post(
            "/v1/uploads", json={"content_type": "audio/wav"}, headers=device.headers
        )
        assert created.status_code == 201
        file_id = created.json()["file_id"]

        stack.kill("redis")
        assert_unavailable(
            client.post(
                "/v1/uploads",
                json={"content_type": "audio/wav"},
                headers=device.headers,
            ),
            "Redis",
        )
        assert_unavailable(
            client.put(
                f"/v1/uploads/{file_id}",
                content=b"\x00\x00",
                headers={**device.headers, "Upload-Offset": "0"},
            ),
            "Redis",
        )
        assert_unavailable(
            client.get(f"/v1/uploads/{file_id}", headers=device.headers), "Redis"
        )
        frame = {
            "recorded_at": datetime.now(UTC).isoformat(),
            "images": [{"camera": "back", "data": JPEG}],
        }
        paired = client.post(
            "/v1/events/camera", json={**frame, "pair_id": "p"}, headers=device.headers
        )
        assert_unavailable(paired, "Redis")

        events = [
            client.post("/v1/events/gps", json=bodies["gps"], headers=device.headers),
            client.post("/v1/events/camera", json=frame, headers=device.headers),
        ]
        assert [r.status_code for r in events] == [202, 202]
        landed = read_back(settings.kafka_bootstrap, [r.json() for r in events])
        assert [value(m)["device_id"] for m in landed] == [device.device_id] * 2
        ready = client.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["checks"]["redis"] != "ok"
        assert ready.json()["checks"]["kafka"] == "ok"
