"""Resumable uploads: offsets in Redis, bytes on disk, events produced on complete."""

import base64
import time
from datetime import UTC, datetime, timedelta

import pytest
import redis
from fastapi.testclient import TestClient

from ingest_api.app import create_app
from ingest_api.uploads import offset_key
from loom_core.contracts import FAMILIES
from tests.integration.ingest_api.conftest import read_new, register, watermarks
from tests.unit.ingest_api.samples import tone, wav_bytes, write_mp4

AUDIO_TOPIC = FAMILIES["audio"].topic.name
CAMERA_TOPIC = FAMILIES["camera"].topic.name
START = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)


def start(client, device, **fields):
    body = {"recorded_at": START.isoformat(), **fields}
    response = client.post("/v1/uploads", json=body, headers=device.headers)
    assert response.status_code == 201, response.text
    return response.json()["file_id"]


def put(client, device, file_id, offset, data):
    return client.put(
        f"/v1/uploads/{file_id}",
        content=data,
        headers={**device.headers, "Upload-Offset": str(offset)},
    )


def upload(client, device, data, chunk=64 * 1024, **fields):
    file_id = start(client, device, size=len(data), **fields)
    for offset in range(0, len(data), chunk):
        response = put(client, device, file_id, offset, data[offset : offset + chunk])
        assert response.status_code == 200, response.text
        assert response.json()["offset"] == min(offset + chunk, len(data))
    return file_id


def pcm_of(chunks: list[dict]) -> bytes:
    return b"".join(base64.b64decode(c["data"]) for c in chunks)


def test_wav_upload_becomes_ordered_audio_chunks(client, device, settings):
    pcm = tone(12.0)  # 5 s chunks: 5 + 5 + 2
    since = watermarks(settings.kafka_bootstrap, AUDIO_TOPIC)
    file_id = upload(client, device, wav_bytes(pcm), content_type="audio/wav")
    response = client.post(f"/v1/uploads/{file_id}/complete", headers=device.headers)
    assert response.status_code == 200, response.text
    result = response.json()
    assert (result["audio_chunks"], result["camera_frames"]) == (3, 0)
    assert result["sample_rate"] == 16_000
    chunks = read_new(settings.kafka_bootstrap, AUDIO_TOPIC, since, device.device_id)
    chunks.sort(key=lambda c: c["sequence"])
    assert [c["sequence"] for c in chunks] == [0, 1, 2]
    assert {c["stream_id"] for c in chunks} == {file_id}
    assert pcm_of(chunks) == pcm
    times = [datetime.fromisoformat(c["recorded_at"]) for c in chunks]
    assert times == [START, START + timedelta(seconds=5), START + timedelta(seconds=10)]
    assert {c["sample_rate"] for c in chunks} == {16_000}


def test_completing_twice_answers_the_same_and_produces_nothing_more(
    client, device, settings
):
    pcm = tone(1.0, rate=8_000)
    file_id = upload(client, device, pcm, content_type="audio/pcm", sample_rate=8_000)
    since = watermarks(settings.kafka_bootstrap, AUDIO_TOPIC)
    first = client.post(f"/v1/uploads/{file_id}/complete", headers=device.headers)
    again = client.post(f"/v1/uploads/{file_id}/complete", headers=device.headers)
    assert first.json() == again.json()
    chunks = read_new(settings.kafka_bootstrap, AUDIO_TOPIC, since, device.device_id)
    assert len(chunks) == 1
    assert pcm_of(chunks) == pcm
    state = client.get(f"/v1/uploads/{file_id}", headers=device.headers)
    assert state.json()["result"]["audio_chunks"] == 1
    late = put(client, device, file_id, len(pcm), b"\x00\x00")
    assert late.status_code == 409
    assert late.json()["detail"]["expected_offset"] == len(pcm)


def test_video_gives_its_audio_and_sampled_frames(client, device, settings, tmp_path):
    video = write_mp4(tmp_path / "clip.mp4", seconds=11.0).read_bytes()
    since_audio = watermarks(settings.kafka_bootstrap, AUDIO_TOPIC)
    since_camera = watermarks(settings.kafka_bootstrap, CAMERA_TOPIC)
    file_id = upload(client, device, video, content_type="video/mp4")
    response = client.post(f"/v1/uploads/{file_id}/complete", headers=device.headers)
    assert response.status_code == 200, response.text
    assert response.json()["camera_frames"] == 3  # at 0, 5 and 10 s
    frames = read_new(
        settings.kafka_bootstrap, CAMERA_TOPIC, since_camera, device.device_id
    )
    offsets = sorted(
        (datetime.fromisoformat(f["recorded_at"]) - START).total_seconds()
        for f in frames
    )
    assert [round(s) for s in offsets] == [0, 5, 10]
    assert all(f["images"][0]["content_type"] == "image/jpeg" for f in frames)
    assert all(
        base64.b64decode(f["images"][0]["data"])[:2] == b"\xff\xd8" for f in frames
    )
    chunks = read_new(
        settings.kafka_bootstrap, AUDIO_TOPIC, since_audio, device.device_id
    )
    assert len(chunks) == response.json()["audio_chunks"] == 3
    assert abs(len(pcm_of(chunks)) / 2 / 16_000 - 11.0) < 0.2


def test_a_chunk_at_the_wrong_offset_gets_409_with_the_expected_one(
    client, device, settings
):
    data = bytes(range(256)) * 10
    file_id = start(
        client, device, size=len(data), content_type="audio/pcm", sample_rate=16_000
    )
    assert put(client, device, file_id, 0, data[:1000]).status_code == 200
    ahead = put(client, device, file_id, 1500, data[1500:])
    assert ahead.status_code == 409
    assert ahead.json()["detail"]["expected_offset"] == 1000
    assert ahead.headers["Upload-Offset"] == "1000"
    replay = put(client, device, file_id, 0, data[:1000])
    assert replay.status_code == 409
    state = client.get(f"/v1/uploads/{file_id}", headers=device.headers)
    assert state.json()["offset"] == 1000
    assert state.headers["Upload-Offset"] == "1000"
    incomplete = client.post(f"/v1/uploads/{file_id}/complete", headers=device.headers)
    assert incomplete.status_code == 409
    assert incomplete.json()["detail"]["expected_offset"] == 1000
    via_query = client.put(
        f"/v1/uploads/{file_id}?offset=1000",
        content=data[1000:],
        headers=device.headers,
    )
    assert via_query.json()["offset"] == len(data)
    past_the_end = put(client, device, file_id, len(data), b"\x00\x00")
    assert past_the_end.status_code == 413
    ttl = redis.Redis.from_url(settings.redis_url).ttl(offset_key(file_id))
    assert 0 < ttl <= 300


def test_uploads_are_private_to_their_device(client, device, settings):
    file_id = start(client, device, content_type="audio/wav")
    other = register(settings.database_url)
    assert (
        client.get(f"/v1/uploads/{file_id}", headers=other.headers).status_code == 404
    )
    assert put(client, other, file_id, 0, b"\x00\x00").status_code == 404
    assert client.get("/v1/uploads/nothere", headers=device.headers).status_code == 404


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"content_type": "image/png"}, 415),
        ({"content_type": "audio/pcm"}, 422),
        ({"content_type": "audio/wav", "size": 10**13}, 413),
        ({"content_type": "audio/wav", "recorded_at": "2999-01-01T00:00:00Z"}, 422),
    ],
)
def test_what_cannot_be_uploaded_is_refused_up_front(client, device, body, status):
    response = client.post("/v1/uploads", json=body, headers=device.headers)
    assert response.status_code == status
    assert response.json()["detail"]


def test_undecodable_upload_and_unknown_start_time_are_422(client, device):
    junk = upload(client, device, b"not audio at all" * 64, content_type="audio/mpeg")
    response = client.post(f"/v1/uploads/{junk}/complete", headers=device.headers)
    assert response.status_code == 422
    assert "cannot decode" in response.json()["detail"][0]["msg"]
    file_id = client.post(
        "/v1/uploads", json={"content_type": "audio/wav"}, headers=device.headers
    ).json()["file_id"]
    put(client, device, file_id, 0, wav_bytes(tone(0.5)))
    unknown = client.post(f"/v1/uploads/{file_id}/complete", headers=device.headers)
    assert unknown.status_code == 422
    assert unknown.json()["detail"][0]["loc"] == ["body", "recorded_at"]
    given = client.post(
        f"/v1/uploads/{file_id}/complete",
        json={"recorded_at": START.isoformat()},
        headers=device.headers,
    )
    assert given.status_code == 200
    assert given.json()["recorded_at"] == START.isoformat()


def test_an_idle_upload_expires_and_is_swept(device, api_settings):
    quick = api_settings.model_copy(update={"upload_ttl_seconds": 1})
    with TestClient(create_app(quick)) as client:
        file_id = start(client, device, content_type="audio/wav")
        store = client.app.state.services.uploads
        assert store.data_path(file_id).exists()
        time.sleep(1.5)
        expired = put(client, device, file_id, 0, b"\x00\x00")
        assert expired.status_code == 410
        assert "expired" in expired.json()["detail"]
        removed = client.portal.call(store.sweep)
        assert file_id in removed
        assert not store.data_path(file_id).exists()
        assert (
            client.get(f"/v1/uploads/{file_id}", headers=device.headers).status_code
            == 404
        )


def test_a_chunk_bigger_than_the_chunk_limit_is_413(device, api_settings):
    small = api_settings.model_copy(update={"upload_chunk_max_bytes": 1024})
    with TestClient(create_app(small)) as client:
        file_id = start(client, device, content_type="audio/wav")
        response = put(client, device, file_id, 0, b"\x00" * 2048)
        assert response.status_code == 413
        assert "LOOM_UPLOAD_CHUNK_MAX_BYTES" in response.json()["detail"]
        assert put(client, device, file_id, 0, b"\x00" * 1024).status_code == 200
