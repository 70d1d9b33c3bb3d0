"""Everything the ingress produces validates against the committed JSON Schemas."""

import base64
import time
from datetime import UTC, datetime

import jsonschema
import pytest

from loom_core.contracts import BY_TOPIC, FAMILIES, schemas
from tests.integration.ingest_api.conftest import read_back, value
from tests.integration.ingest_api.payloads import JPEG, PNG, payloads
from tests.unit.ingest_api.samples import tone


def produced_by_every_route(client, device) -> list[dict]:
    """Acknowledgements of messages made by each way into the ingress."""
    acks = []
    for family, body in payloads().items():
        acks.append(
            client.post(
                f"/v1/events/{family}", json=body, headers=device.headers
            ).json()
        )
    both = {
        "recorded_at": datetime.now(UTC).isoformat(),
        "images": [{"camera": "front", "data": JPEG}, {"camera": "back", "data": PNG}],
    }
    acks.append(
        client.post("/v1/events/camera", json=both, headers=device.headers).json()
    )
    lone = {**both, "images": both["images"][:1], "pair_id": f"solo-{time.time()}"}
    acks.append(
        client.post("/v1/events/camera", json=lone, headers=device.headers).json()
    )
    batch = client.post(
        "/v1/events:batch",
        json={"events": [{"family": f, **b} for f, b in payloads().items()]},
        headers=device.headers,
    ).json()
    acks.extend(batch["results"])
    with client.websocket_connect(f"/v1/stream/audio?key={device.key}") as ws:
        ws.receive_json()
        ws.send_text('{"data": "' + base64.b64encode(tone(0.3)).decode() + '"}')
        ws.send_json({"type": "end"})
        acks.append(ws.receive_json())
    return acks


def test_every_produced_message_matches_its_committed_schema(client, device, settings):
    acks = produced_by_every_route(client, device)
    assert all("offset" in a for a in acks), acks
    messages = read_back(settings.kafka_bootstrap, acks)
    checked = set()
    for message in messages:
        family = BY_TOPIC[message.topic()].name
        schemas.validator(family).validate(value(message))
        checked.add(family)
    assert checked == set(FAMILIES)


def test_the_schema_check_can_fail(client, device, settings):
    ack = client.post(
        "/v1/events/gps", json=payloads()["gps"], headers=device.headers
    ).json()
    (message,) = read_back(settings.kafka_bootstrap, [ack])
    broken = {**value(message), "latitude": "north"}
    with pytest.raises(jsonschema.ValidationError):
        schemas.validator("gps").validate(broken)
