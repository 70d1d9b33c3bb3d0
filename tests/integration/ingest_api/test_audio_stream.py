"""WS /v1/stream/audio: PCM in, acknowledged AudioChunks out, in order."""

import base64
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from starlette.testclient import WebSocketDenialResponse
from starlette.websockets import WebSocketDisconnect

from ingest_api.app import create_app
from loom_core.contracts.ids import chunk_id
from tests.integration.ingest_api.conftest import read_back, value
from tests.unit.ingest_api.samples import tone

START = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)


@pytest.fixture(scope="module")
def stream_client(api_settings):
    """An app cutting 1-second chunks."""
    with TestClient(
        create_app(api_settings.model_copy(update={"audio_chunk_seconds": 1.0}))
    ) as client:
        yield client


def url(device, **params):
    query = "&".join(f"{k}={v}" for k, v in {"key": device.key, **params}.items())
    return f"/v1/stream/audio?{query}"


def test_binary_frames_become_acknowledged_chunks(stream_client, device, settings):
    pcm = tone(2.5)  # 1 s + 1 s + 0.5 s
    stream_id = uuid.uuid4().hex
    with stream_client.websocket_connect(
        url(
            device,
            stream_id=stream_id,
            recorded_at=START.isoformat().replace("+", "%2B"),
        )
    ) as ws:
        ready = ws.receive_json()
        assert ready["type"] == "ready"
        assert (ready["stream_id"], ready["chunk_bytes"]) == (stream_id, 32_000)
        for start in range(0, len(pcm), 3001):  # frames that split samples
            ws.send_bytes(pcm[start : start + 3001])
        acks = [ws.receive_json(), ws.receive_json()]
        ws.send_json({"type": "end"})
        acks.append(ws.receive_json())
        end = ws.receive_json()
    assert [a["type"] for a in acks] == ["ack"] * 3
    assert [a["sequence"] for a in acks] == [0, 1, 2]
    assert [a["bytes"] for a in acks] == [32_000, 64_000, 80_000]
    assert end == {"type": "end", "stream_id": stream_id, "chunks": 3, "bytes": 80_000}
    chunks = [value(m) for m in read_back(settings.kafka_bootstrap, acks)]
    assert b"".join(base64.b64decode(c["data"]) for c in chunks) == pcm
    assert [c["event_id"] for c in chunks] == [
        str(chunk_id(device.device_id, stream_id, n)) for n in range(3)
    ]
    times = [datetime.fromisoformat(c["recorded_at"]) for c in chunks]
    assert times == [START, START + timedelta(seconds=1), START + timedelta(seconds=2)]


def test_json_frames_and_a_resumed_stream(stream_client, device, settings):
    pcm = tone(1.0, rate=8_000)
    stream_id = uuid.uuid4().hex
    with stream_client.websocket_connect(
        url(device, stream_id=stream_id, sample_rate=8000, sequence=5),
        headers={"X-API-Key": device.key},
    ) as ws:
        assert ws.receive_json()["sequence"] == 5
        ws.send_text('{"data": "' + base64.b64encode(pcm).decode() + '"}')
        ack = ws.receive_json()
        ws.send_json({"type": "end"})
        assert ws.receive_json()["chunks"] == 6
    assert ack["sequence"] == 5
    (message,) = read_back(settings.kafka_bootstrap, [ack])
    chunk = value(message)
    assert (chunk["sequence"], chunk["sample_rate"]) == (5, 8_000)
    assert base64.b64decode(chunk["data"]) == pcm


def test_bad_frames_close_the_stream_with_1007(stream_client, device):
    with stream_client.websocket_connect(url(device)) as ws:
        ws.receive_json()
        ws.send_text("not json")
        error = ws.receive_json()
        assert error["type"] == "error"
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
    assert closed.value.code == 1007
    with stream_client.websocket_connect(url(device)) as ws:
        ws.receive_json()
        ws.send_bytes(b"\x00\x00\x00")
        ws.send_json({"type": "end"})
        assert "middle of a 16-bit sample" in ws.receive_json()["detail"]


def test_a_stream_without_a_valid_key_or_params_is_refused(stream_client, device):
    with pytest.raises(WebSocketDenialResponse) as no_key:
        stream_client.websocket_connect("/v1/stream/audio").__enter__()
    assert no_key.value.status_code == 401
    assert "loom devices add" in no_key.value.json()["detail"]
    with pytest.raises(WebSocketDenialResponse) as bad_rate:
        stream_client.websocket_connect(url(device, sample_rate=1000)).__enter__()
    assert bad_rate.value.status_code == 422
    assert bad_rate.value.json()["detail"][0]["loc"] == ["query", "sample_rate"]
