"""Front/back camera pairs through Redis: one paired message, or each alone."""

import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import redis

from ingest_api.pairing import pair_key
from loom_core.contracts import CameraFrame
from tests.integration.ingest_api.conftest import read_back, value
from tests.integration.ingest_api.payloads import JPEG, PNG

T = datetime.now(UTC) - timedelta(minutes=1)


def frame(camera, pair_id, at=T, data=JPEG):
    return {
        "recorded_at": at.isoformat(),
        "pair_id": pair_id,
        "images": [{"camera": camera, "data": data}],
    }


def post(client, device, body):
    return client.post("/v1/events/camera", json=body, headers=device.headers)


def wait_until_waiting(settings, device, pair_id):
    """Return once the first frame of the pair waits in Redis."""
    store = redis.Redis.from_url(settings.redis_url)
    deadline = time.monotonic() + 10
    while not store.exists(pair_key(device.device_id, pair_id)):
        assert time.monotonic() < deadline, "the first frame never waited in Redis"
        time.sleep(0.01)


def test_two_frames_of_a_pair_become_one_message(client, device, settings):
    pair_id = uuid.uuid4().hex
    back = frame("back", pair_id, T + timedelta(milliseconds=30), PNG)
    with ThreadPoolExecutor(1) as pool:
        first = pool.submit(post, client, device, frame("front", pair_id))
        # The first request waits in Redis (pair_wait_seconds=1); its mate comes now.
        wait_until_waiting(settings, device, pair_id)
        mate = post(client, device, back)
        first = first.result()
    assert (first.status_code, mate.status_code) == (202, 202)
    assert first.json() == mate.json()
    assert first.json()["pairing"] == "paired"
    (message,) = read_back(settings.kafka_bootstrap, [mate.json()])
    paired = value(message)
    assert paired["pairing"] == "paired"
    assert paired["pair_id"] == pair_id
    assert [i["camera"] for i in paired["images"]] == ["front", "back"]
    assert [i["data"] for i in paired["images"]] == [JPEG, PNG]
    assert datetime.fromisoformat(paired["recorded_at"]) == T


def test_a_frame_whose_mate_never_comes_is_produced_alone(client, device, settings):
    pair_id = uuid.uuid4().hex
    response = post(client, device, frame("front", pair_id))
    assert response.status_code == 202
    assert response.json()["pairing"] == "unpaired"
    (message,) = read_back(settings.kafka_bootstrap, [response.json()])
    alone = value(message)
    assert alone["pairing"] == "unpaired"
    assert alone["pair_id"] == pair_id
    assert len(alone["images"]) == 1
    key = pair_key(device.device_id, pair_id)
    assert not redis.Redis.from_url(settings.redis_url).exists(key)


def test_a_retried_frame_of_a_done_pair_gets_the_pairs_ack(client, device, settings):
    pair_id = uuid.uuid4().hex
    with ThreadPoolExecutor(1) as pool:
        first = pool.submit(post, client, device, frame("front", pair_id))
        wait_until_waiting(settings, device, pair_id)
        mate = post(client, device, frame("back", pair_id))
        first.result()
    retried = post(client, device, frame("front", pair_id))
    assert retried.status_code == 202
    assert retried.json() == mate.json()
    key = pair_key(device.device_id, pair_id)
    ttl = redis.Redis.from_url(settings.redis_url).ttl(key)
    assert 0 < ttl <= 30


def test_a_second_frame_of_the_same_camera_is_not_its_mate(client, device, settings):
    pair_id = uuid.uuid4().hex
    with ThreadPoolExecutor(1) as pool:
        first = pool.submit(post, client, device, frame("front", pair_id))
        wait_until_waiting(settings, device, pair_id)
        second = post(client, device, frame("front", pair_id, T + timedelta(seconds=1)))
        first = first.result()
    assert first.json()["pairing"] == second.json()["pairing"] == "unpaired"
    assert first.json()["event_id"] != second.json()["event_id"]
    messages = read_back(settings.kafka_bootstrap, [first.json(), second.json()])
    assert [value(m)["pairing"] for m in messages] == ["unpaired", "unpaired"]


def test_two_images_in_one_post_are_paired_and_none_is_single(client, device, settings):
    both = {
        "recorded_at": T.isoformat(),
        "images": [{"camera": "front", "data": JPEG}, {"camera": "back", "data": PNG}],
    }
    paired = post(client, device, both)
    single = post(client, device, {**both, "images": both["images"][:1]})
    assert paired.json()["pairing"] == "paired"
    assert single.json()["pairing"] == "single"
    messages = read_back(settings.kafka_bootstrap, [paired.json(), single.json()])
    assert [value(m)["pairing"] for m in messages] == ["paired", "single"]
    assert [len(value(m)["images"]) for m in messages] == [2, 1]


def test_a_frame_left_waiting_by_a_dead_process_still_pairs(client, device, settings):
    """The first frame's process died while it waited: its mate still pairs with
    it, and the first frame's retry gets the pair's acknowledgement."""
    pair_id = uuid.uuid4().hex
    orphan = CameraFrame.model_validate(
        {**frame("front", pair_id), "device_id": device.device_id}
    )
    pairing = client.app.state.services.pairing
    key = pair_key(device.device_id, pair_id)
    verdict = client.portal.call(
        lambda: pairing._offer(
            keys=[key],
            args=[str(orphan.event_id), "front", orphan.model_dump_json(), 30],
        )
    )
    assert verdict == [b"wait"]  # nobody is waiting for it any more
    mate = post(client, device, frame("back", pair_id))
    assert mate.json()["pairing"] == "paired"
    (message,) = read_back(settings.kafka_bootstrap, [mate.json()])
    assert [i["camera"] for i in value(message)["images"]] == ["front", "back"]
    retried = client.post(
        "/v1/events/camera",
        json={**frame("front", pair_id), "event_id": str(orphan.event_id)},
        headers=device.headers,
    )
    assert retried.json() == mate.json()
