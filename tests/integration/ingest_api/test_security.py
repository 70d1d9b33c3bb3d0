"""The ingest API as an attacker meets it: ``loom api`` in its own process.

Every test here reproduces an attack of issue 14 (hostile uploads, keys in logs,
malformed JSON, floods, slow clients and the lax inputs) against a served API,
and the last one reads the server's whole log: no key and no traceback in it.
Tests that fail authentication on purpose connect from their own loopback
address (127.0.0.x), so the per-address limit they reach stays theirs.
"""

import json
import socket
import time
from datetime import UTC, datetime, timedelta

import av
import httpx
import numpy as np
import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

from tests.integration.ingest_api.conftest import register
from tests.integration.ingest_api.payloads import payloads
from tests.unit.ingest_api.samples import tone, wav_bytes

START = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
SECRETS: list[str] = []  # every key used here: none may reach the log
CLOSED_WITHIN_S = 20  # the served API closes slow connections after 2 s


@pytest.fixture(scope="module")
def attacker(served_api, settings):
    device = register(settings.database_url, "attacker")
    SECRETS.append(device.key)
    return device


@pytest.fixture(scope="module")
def victim(served_api, settings):
    device = register(settings.database_url, "victim")
    SECRETS.append(device.key)
    return device


def http(served_api, address="127.0.0.1") -> httpx.Client:
    """A client of the served API connecting from ``address``."""
    return httpx.Client(
        base_url=served_api.base,
        transport=httpx.HTTPTransport(local_address=address),
        timeout=30,
    )


def start_upload(api, device, content_type="audio/wav", **fields):
    body = {"content_type": content_type, "recorded_at": START.isoformat(), **fields}
    response = api.post("/v1/uploads", json=body, headers=device.headers)
    assert response.status_code == 201, response.text
    return response.json()["file_id"]


def upload(api, device, data: bytes, content_type="audio/wav"):
    file_id = start_upload(api, device, content_type, size=len(data))
    response = api.put(
        f"/v1/uploads/{file_id}",
        content=data,
        headers={**device.headers, "Upload-Offset": "0"},
    )
    assert response.status_code == 200, response.text
    return file_id


# -- 1. uploads decode nothing but their own bytes -----------------------------------
def test_an_ffconcat_upload_cannot_read_another_devices_upload(
    served_api, attacker, victim
):
    with http(served_api) as api:
        # The victim's upload is in progress: its bytes lie beside the attacker's.
        theirs = upload(api, victim, wav_bytes(tone(2.0)))
        assert (served_api.uploads / f"{theirs}.data").exists()
        hostile = f"ffconcat version 1.0\nfile {theirs}.data\n".encode()
        mine = upload(api, attacker, hostile)
        response = api.post(f"/v1/uploads/{mine}/complete", headers=attacker.headers)
        assert response.status_code == 415, response.text
        assert "not audio/wav" in response.json()["detail"]
        assert str(served_api.uploads) not in response.text
        state = api.get(f"/v1/uploads/{mine}", headers=attacker.headers).json()
        assert state["result"] is None  # nothing was produced


def test_an_upload_naming_itself_is_refused_at_once(served_api, attacker):
    with http(served_api) as api:
        file_id = start_upload(api, attacker)
        data = f"ffconcat version 1.0\nfile {file_id}.data\n" * 50
        response = api.put(
            f"/v1/uploads/{file_id}",
            content=data.encode(),
            headers={**attacker.headers, "Upload-Offset": "0"},
        )
        assert response.status_code == 200
        done = api.post(f"/v1/uploads/{file_id}/complete", headers=attacker.headers)
        assert done.status_code == 415, done.text


PLAYLISTS = {
    "hls": "#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10,\n{victim}.data\n"
    "#EXT-X-ENDLIST\n",
    "m3u": "#EXTM3U\n{victim}.data\n",
    "sdp": "v=0\no=- 0 0 IN IP4 127.0.0.1\ns=x\nc=IN IP4 127.0.0.1\nt=0 0\n"
    "m=audio 5004 RTP/AVP 0\n",
    "ffconcat": "ffconcat version 1.0\nfile {victim}.data\n",
}


@pytest.mark.parametrize("kind", sorted(PLAYLISTS))
@pytest.mark.parametrize("content_type", ["audio/mpeg", "video/mp4"])
def test_playlists_of_any_kind_decode_nothing(
    served_api, attacker, victim, kind, content_type
):
    with http(served_api) as api:
        theirs = upload(api, victim, wav_bytes(tone(1.0)))
        hostile = PLAYLISTS[kind].format(victim=theirs).encode()
        mine = upload(api, attacker, hostile, content_type)
        response = api.post(f"/v1/uploads/{mine}/complete", headers=attacker.headers)
        assert response.status_code in {415, 422}, response.text
        assert str(served_api.uploads) not in response.text


def test_a_png_declared_as_wav_is_415_not_a_camera_frame(served_api, attacker):
    from PIL import Image  # noqa: PLC0415

    png = served_api.uploads.parent / "frame.png"
    Image.new("RGB", (64, 64), "red").save(png, format="PNG")
    with http(served_api) as api:
        file_id = upload(api, attacker, png.read_bytes())
        response = api.post(f"/v1/uploads/{file_id}/complete", headers=attacker.headers)
        assert response.status_code == 415, response.text


def flac_of_silence(path, seconds: float) -> bytes:
    """A FLAC file of silence: tiny, but it decodes to a lot of PCM."""
    rate = 16_000
    with av.open(str(path), "w", format="flac") as container:
        stream = container.add_stream("flac", rate=rate, layout="mono")
        samples = int(rate * seconds)
        for start in range(0, samples, 4096):
            block = np.zeros((1, min(4096, samples - start)), dtype=np.int16)
            frame = av.AudioFrame.from_ndarray(block, format="s16", layout="mono")
            frame.sample_rate = rate
            frame.pts = start
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return path.read_bytes()


@pytest.mark.parametrize(
    ("name", "seconds", "limit"),
    [("long", 6.0, "LOOM_UPLOAD_MAX_DECODED_SECONDS"), ("silent", 4.0, "RATIO")],
)
def test_what_an_upload_decodes_to_is_bounded(
    served_api, attacker, tmp_path, name, seconds, limit
):
    if name == "long":
        data, content_type = wav_bytes(tone(seconds)), "audio/wav"
    else:
        data = flac_of_silence(tmp_path / "silence.flac", seconds)
        content_type = "audio/flac"
        assert len(data) * 10 < seconds * 16_000 * 2  # it would pass the ratio
    with http(served_api) as api:
        file_id = upload(api, attacker, data, content_type)
        response = api.post(f"/v1/uploads/{file_id}/complete", headers=attacker.headers)
    assert response.status_code == 413, response.text
    assert limit in response.json()["detail"]


# -- 2. keys never reach the log -----------------------------------------------------
def test_a_websocket_handshake_with_a_query_key_is_not_logged(served_api, attacker):
    url = served_api.base.replace("http", "ws") + "/v1/stream/audio"
    with connect(f"{url}?key={attacker.key}&sample_rate=16000") as ws:
        assert json.loads(ws.recv(timeout=10))["type"] == "ready"
        ws.send(json.dumps({"type": "end"}))
        assert json.loads(ws.recv(timeout=10))["type"] == "end"
    assert attacker.key not in served_api.log_text()


@pytest.mark.parametrize(
    "query",
    ["%6Bey={key}", "k%65y={key}", "key={key}&key={key}", "KE%59={key}&key={key}"],
)
def test_encoded_or_repeated_key_parameters_are_refused(served_api, attacker, query):
    with http(served_api) as api:
        response = api.post(
            f"/v1/events/gps?{query.format(key=attacker.key)}",
            json=payloads()["gps"],
        )
    assert response.status_code == 400, response.text
    assert attacker.key not in served_api.log_text()


def test_a_refused_websocket_handshake_logs_no_error(served_api):
    url = served_api.base.replace("http", "ws") + "/v1/stream/audio"
    wrong = "loom_" + "W" * 43
    SECRETS.append(wrong)
    with pytest.raises(InvalidStatus, match=r"HTTP 401"):
        connect(f"{url}?key={wrong}")
    time.sleep(0.5)
    lines = served_api.log_text().splitlines()
    assert not [line for line in lines if line.startswith("ERROR")]


# -- 3. one bounded JSON parser ------------------------------------------------------
HOSTILE_JSON = {
    "deep": (b"[" * 5000 + b"]" * 5000, "nested deeper than"),
    "deep-object": (b'{"a":' * 3000 + b"1" + b"}" * 3000, "nested deeper than"),
    "long-int": (b'{"lat": ' + b"1" * 5000 + b"}", "longer than"),
    "int-over-float": (b'{"lat": ' + b"9" * 400 + b', "lon": 1}', "longer than"),
}
JSON_ROUTES = [
    "/v1/events:batch",
    "/v1/compat/owntracks",
    "/v1/compat/overland",
    "/v1/compat/osmand",
    "/v1/compat/traccar",
    "/v1/compat/gpslogger",
    "/v1/events/gps",
    "/v1/uploads",
]


@pytest.mark.parametrize("route", JSON_ROUTES)
@pytest.mark.parametrize("kind", sorted(HOSTILE_JSON))
def test_hostile_json_is_a_422_naming_the_limit(served_api, attacker, route, kind):
    body, named = HOSTILE_JSON[kind]
    with http(served_api) as api:
        response = api.post(
            route,
            content=body,
            headers={**attacker.headers, "Content-Type": "application/json"},
        )
    assert response.status_code == 422, response.text
    if route != "/v1/events/gps":  # pydantic's own message there
        assert named in response.text


# -- 4. floods and slow clients ------------------------------------------------------
def test_a_flood_of_wrong_keys_is_429_for_that_address_only(served_api, attacker):
    flood = [f"loom_wrong{i:038d}" for i in range(7)]
    SECRETS.extend(flood)
    with http(served_api, "127.0.0.2") as api:
        codes = []
        for key in flood:
            response = api.post(
                "/v1/events/gps",
                json=payloads()["gps"],
                headers={"Authorization": f"Bearer {key}"},
            )
            codes.append(response.status_code)
        assert codes[:5] == [401] * 5
        assert codes[5:] == [429, 429]
        assert 1 <= int(response.headers["Retry-After"]) <= 60
        # A right key from that address waits too...
        late = api.post(
            "/v1/events/gps", json=payloads()["gps"], headers=attacker.headers
        )
        assert late.status_code == 429
    # ...but not from another.
    with http(served_api, "127.0.0.3") as api:
        other = api.post(
            "/v1/events/gps", json=payloads()["gps"], headers=attacker.headers
        )
        assert other.status_code == 202, other.text


def _raw(served_api) -> socket.socket:
    host, port = served_api.base.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=CLOSED_WITHIN_S)
    sock.settimeout(CLOSED_WITHIN_S)
    return sock


def _closed_by_server(sock: socket.socket) -> bytes:
    """Read until the server closes; a timeout fails the test."""
    received = b""
    while chunk := sock.recv(4096):
        received += chunk
    return received


def test_unfinished_headers_are_cut_off(served_api):
    socks = [_raw(served_api) for _ in range(20)]
    for sock in socks:
        sock.sendall(b"POST /v1/events/gps HTTP/1.1\r\nHost: x\r\nX-Slow: ")
    for sock in socks:
        with sock:
            assert _closed_by_server(sock) == b""


def test_a_stalled_body_is_cut_off_and_not_a_500(served_api, attacker):
    with _raw(served_api) as sock:
        sock.sendall(
            b"POST /v1/events/gps HTTP/1.1\r\nHost: x\r\n"
            b"Authorization: Bearer " + attacker.key.encode() + b"\r\n"
            b'Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"a'
        )
        _closed_by_server(sock)
    with http(served_api) as api:
        file_id = start_upload(api, attacker)
    with _raw(served_api) as sock:  # and one that leaves by itself
        sock.sendall(
            b"PUT /v1/uploads/" + file_id.encode() + b" HTTP/1.1\r\nHost: x\r\n"
            b"Authorization: Bearer " + attacker.key.encode() + b"\r\n"
            b"Upload-Offset: 0\r\nContent-Length: 100000\r\n\r\nabc"
        )
    time.sleep(1)
    with http(served_api) as api:
        metrics = api.get("/metrics").text
    assert 'status="500"' not in metrics
    assert 'status="499"' in metrics
    assert "ClientDisconnect" not in served_api.log_text()


# -- 5. the lax inputs ---------------------------------------------------------------
@pytest.mark.parametrize("method", ["GET", "PUT", "POST"])
def test_upload_ids_not_of_our_format_are_404(served_api, attacker, method):
    path = "/v1/uploads/" + "a" * 300 + ("/complete" if method == "POST" else "")
    with http(served_api) as api:
        response = api.request(
            method,
            path,
            content=b"x" if method == "PUT" else None,
            headers={**attacker.headers, "Upload-Offset": "0"},
        )
    assert response.status_code == 404, response.text


@pytest.mark.parametrize(
    "body",
    [
        {"content_type": "audio/wav", "unexpected": 1},
        {"content_type": "audio/wav", "recorded_at": "1969-12-31T23:59:59Z"},
        {"content_type": "audio/wav", "recorded_at": "0001-01-01T00:00:00Z"},
        {"content_type": "audio/x-unknown"},
    ],
)
def test_upload_creation_is_strict(served_api, attacker, body):
    with http(served_api) as api:
        response = api.post("/v1/uploads", json=body, headers=attacker.headers)
    assert response.status_code in {415, 422}, response.text


def test_events_recorded_before_2000_are_422(served_api, attacker):
    with http(served_api) as api:
        old = {**payloads()["gps"], "recorded_at": "1999-12-31T23:59:59Z"}
        single = api.post("/v1/events/gps", json=old, headers=attacker.headers)
        assert single.status_code == 422, single.text
        assert single.json()["detail"][0]["loc"] == ["body", "recorded_at"]
        batch = api.post(
            "/v1/events:batch",
            json={"events": [{"family": "gps", **old}]},
            headers=attacker.headers,
        )
        assert batch.status_code == 422
        assert batch.json()["results"][0]["status"] == 422


def test_absurd_speeds_and_long_lists_are_422(served_api, attacker):
    now = int(time.time())
    with http(served_api) as api:
        fast = api.get(
            "/v1/compat/osmand",
            params={"lat": 1, "lon": 2, "timestamp": now, "speed": "1e308"},
            headers=attacker.headers,
        )
        assert fast.status_code == 422, fast.text
        assert "speed" in fast.json()["detail"][0]["loc"]
        many = [{"_type": "transition"}] * 10_001
        listed = api.post(
            "/v1/compat/owntracks", json=many, auth=(attacker.device_id, attacker.key)
        )
        assert listed.status_code == 422, listed.text
        assert "10000" in listed.text


def test_bad_websocket_frames_close_with_1007(served_api, attacker):
    url = served_api.base.replace("http", "ws") + "/v1/stream/audio"
    frames = [
        '{"data": "\u00e9\u00e9\u00e9\u00e9"}',
        "[" * 5000 + "]" * 5000,
        '{"data": ' + "1" * 5000 + "}",
        "not json",
    ]
    for frame in frames:
        with connect(url, additional_headers=attacker.headers) as ws:
            assert json.loads(ws.recv(timeout=10))["type"] == "ready"
            ws.send(frame)
            error = json.loads(ws.recv(timeout=10))
            assert error["type"] == "error"
            with pytest.raises(ConnectionClosed) as closed:
                ws.recv(timeout=10)
            assert closed.value.rcvd.code == 1007


def test_metrics_are_not_served_to_other_addresses(served_api):
    # The served API lets 127.0.0.1 alone read them (LOOM_METRICS_CLIENTS).
    with http(served_api, "127.0.0.5") as api:
        assert api.get("/metrics").status_code == 404
    with http(served_api) as api:
        assert api.get("/metrics").status_code == 200


# -- last: the whole log -------------------------------------------------------------
def test_the_log_holds_no_key_and_no_traceback(served_api):
    text = served_api.log_text()
    assert "Traceback" not in text
    assert SECRETS
    leaked = [key for key in SECRETS if key in text]
    assert not leaked
