"""``/v1/imports`` against the real Redis and Kafka: upload, resume, complete."""

from __future__ import annotations

import io
import json
import zipfile

from loom_core.contracts import FAMILIES
from tests.integration.ingest_api.conftest import read_new, watermarks

GPS_TOPIC = FAMILIES["gps"].topic.name
GPX = (
    b'<gpx version="1.1" creator="t" xmlns="http://www.topografix.com/GPX/1/1">'
    b"<trk><trkseg>"
    b'<trkpt lat="52.52" lon="13.405"><time>2024-05-01T08:00:00Z</time></trkpt>'
    b'<trkpt lat="52.53" lon="13.405"><time>2024-05-01T08:00:00Z</time></trkpt>'
    b'<trkpt lat="52.54" lon="13.405"></trkpt>'
    b"</trkseg></trk></gpx>"
)


def start(client, device, data: bytes, **fields):
    response = client.post(
        "/v1/imports", json={"size": len(data), **fields}, headers=device.headers
    )
    assert response.status_code == 201, response.text
    assert response.headers["location"] == f"/v1/imports/{response.json()['file_id']}"
    return response.json()["file_id"]


def put(client, device, file_id, offset, data):
    return client.put(
        f"/v1/imports/{file_id}",
        content=data,
        headers={**device.headers, "Upload-Offset": str(offset)},
    )


def test_a_gpx_file_in_two_chunks_lands_each_fix(client, device, settings):
    since = watermarks(settings.kafka_bootstrap, GPS_TOPIC)
    file_id = start(client, device, GPX, filename="ride.gpx")
    assert put(client, device, file_id, 0, GPX[:100]).json()["offset"] == 100
    # a retried chunk at a stale offset: 409 naming where to continue
    stale = put(client, device, file_id, 0, GPX[:100])
    assert stale.status_code == 409
    assert stale.json()["detail"]["expected_offset"] == 100
    assert (
        client.get(f"/v1/imports/{file_id}", headers=device.headers).json()["offset"]
        == 100
    )
    early = client.post(f"/v1/imports/{file_id}/complete", headers=device.headers)
    assert early.status_code == 409
    assert put(client, device, file_id, 100, GPX[100:]).status_code == 200

    done = client.post(f"/v1/imports/{file_id}/complete", headers=device.headers)
    assert done.status_code == 200, done.text
    (summary,) = done.json()["files"]
    assert summary == {
        "name": "ride.gpx",
        "format": "gpx",
        "accepted": 2,
        "rejected": 1,
        "reasons": [
            {"reason": "the track point has no <time>", "count": 1, "first": "trkpt 3"}
        ],
    }
    again = client.post(f"/v1/imports/{file_id}/complete", headers=device.headers)
    assert again.json() == done.json()

    landed = read_new(settings.kafka_bootstrap, GPS_TOPIC, since, device.device_id)
    assert sorted(m["latitude"] for m in landed) == [52.52, 52.53]
    assert len({m["event_id"] for m in landed}) == 2  # same second, two places


def test_a_zip_imports_each_member_and_names_the_rest(client, device):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("ride.gpx", GPX)
        archive.writestr("notes.txt", "hello")
    data = buffer.getvalue()
    file_id = start(client, device, data, filename="takeout.zip")
    assert put(client, device, file_id, 0, data).status_code == 200
    done = client.post(f"/v1/imports/{file_id}/complete", headers=device.headers)
    assert done.status_code == 200, done.text
    files = {f["name"]: (f["format"], f["accepted"]) for f in done.json()["files"]}
    assert files == {
        "takeout.zip/ride.gpx": ("gpx", 2),
        "takeout.zip/notes.txt": (None, 0),
    }


def test_unreadable_files_get_422_naming_why(client, device):
    for data, why in [
        (b"hello world", "not a format Loom reads"),
        (b'{"locations": [ {"latitudeE7": 1,, } ]}', "not valid JSON"),
    ]:
        file_id = start(client, device, data, filename="f.json")
        put(client, device, file_id, 0, data)
        answer = client.post(f"/v1/imports/{file_id}/complete", headers=device.headers)
        assert answer.status_code == 422, answer.text
        assert why in json.dumps(answer.json())


def test_a_forced_format_and_a_size_over_the_limit(client, device):
    data = b"time;lat;lon\n2024-05-01T08:00:00Z;52,5;13,4\n"
    file_id = start(client, device, data, format="csv")
    put(client, device, file_id, 0, data)
    done = client.post(f"/v1/imports/{file_id}/complete", headers=device.headers)
    assert done.json()["files"][0]["accepted"] == 1

    too_big = client.post("/v1/imports", json={"size": 10**13}, headers=device.headers)
    assert too_big.status_code == 413
    bad_format = client.post(
        "/v1/imports", json={"format": "docx"}, headers=device.headers
    )
    assert bad_format.status_code == 422


def test_imports_need_a_key_and_are_private(client, device):
    assert client.post("/v1/imports", json={}).status_code == 401
    file_id = start(client, device, b"x")
    assert client.get(f"/v1/imports/{file_id}").status_code == 401
