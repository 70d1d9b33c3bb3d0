"""The demo posts what the apps post: the API's own parsers read the fixes back."""

import asyncio
import base64
import json
import random
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from ingest_api.compat import overland, owntracks
from loom_cli.demo import replay
from loom_cli.demo import sample_day as s
from loom_core.contracts import CameraFrame, Screenshot

FIX = s.Fix(
    at=datetime(2025, 6, 14, 8, 0, 15, tzinfo=UTC),
    lat=52.5405123,
    lon=13.4125456,
    accuracy_m=7.4,
    speed_mps=1.39,
    battery=0.667,
)


def test_an_owntracks_message_reads_back_as_the_fix():
    (point,) = owntracks.points(replay.owntracks_message(FIX))
    assert point.recorded_at == FIX.at
    assert point.fields["latitude"] == pytest.approx(FIX.lat, abs=1e-7)
    assert point.fields["longitude"] == pytest.approx(FIX.lon, abs=1e-7)
    # OwnTracks sends whole km/h and percent, as the app does
    assert point.fields["speed_mps"] == pytest.approx(5 / 3.6)
    assert point.fields["battery_level"] == pytest.approx(0.67)
    assert point.fields["accuracy_m"] == 7


def test_an_overland_feature_reads_back_as_the_fix():
    (point,) = overland.points({"locations": [replay.overland_feature(FIX)]})
    assert point.recorded_at == FIX.at
    assert (point.fields["latitude"], point.fields["longitude"]) == pytest.approx(
        (FIX.lat, FIX.lon), abs=1e-7
    )
    assert point.fields["speed_mps"] == FIX.speed_mps
    assert point.fields["battery_level"] == FIX.battery
    assert point.fields["accuracy_m"] == FIX.accuracy_m


@pytest.mark.parametrize("sample", sorted(s.SAMPLES))
def test_the_track_is_split_between_the_apps_at_its_middle(sample):
    fixes = s.track(random.Random(1), s.SAMPLES[sample].itinerary)
    first, second = replay.split_day(fixes)
    assert first + second == fixes
    middle = fixes[0].at + (fixes[-1].at - fixes[0].at) / 2
    assert first[-1].at < middle <= second[0].at


def test_an_empty_track_posts_nothing():
    assert replay.split_day([]) == ([], [])


def test_channel_totals_count_what_each_channel_posts():
    day = s.SampleDay(
        fixes=s.track(random.Random(1)),
        heart_rate=s.heart_rate(random.Random(1)),
        speech=[(s.at("10:00"), b"\0\0" * s.SAMPLE_RATE * 3, ("hi",))],
        frames=s.frames(),
    )
    totals = replay.channel_totals(day)
    assert totals[replay.OWNTRACKS] + totals[replay.OVERLAND] == len(day.fixes)
    assert totals[replay.HEART] == 288
    assert totals[replay.MICROPHONE] == 3.0
    assert totals[replay.CAMERA] == 5
    assert totals[replay.SCREENSHOT] == 1
    assert list(totals) == list(replay.CHANNELS)


def test_frame_bodies_are_the_contracts_with_fixed_ids():
    frames = {f.label: f for f in s.frames()}
    selfie = replay.frame_body(frames["selfie"], "dev-1")
    event = CameraFrame.model_validate({**selfie, "device_id": "dev-1"})
    assert event.pair_id == "potsdam-selfie"
    assert event.images[0].camera == "front"
    assert event.images[0].data == frames["selfie"].jpeg
    assert "pair_id" not in replay.frame_body(frames["coffee"], "dev-1")
    shot = replay.frame_body(frames["ticket"], "dev-1")
    assert Screenshot.model_validate({**shot, "device_id": "dev-1"}).data
    # the same frame has the same id on every run, another device another id
    assert (
        selfie["event_id"] == replay.frame_body(frames["selfie"], "dev-1")["event_id"]
    )
    assert (
        selfie["event_id"] != replay.frame_body(frames["selfie"], "dev-2")["event_id"]
    )
    assert selfie["event_id"] != replay.frame_body(frames["view"], "dev-1")["event_id"]


def test_stream_url_carries_key_stream_and_start():
    url = replay.stream_url(
        "https://loom.example:8443", "loom_k", "demo-1", s.at("10:00")
    )
    parts = urlsplit(url)
    assert (parts.scheme, parts.netloc, parts.path) == (
        "wss",
        "loom.example:8443",
        "/v1/stream/audio",
    )
    query = parse_qs(parts.query)
    assert query["key"] == ["loom_k"]
    assert query["stream_id"] == ["demo-1"]
    assert query["sample_rate"] == ["16000"]
    assert datetime.fromisoformat(query["recorded_at"][0]) == s.at("10:00")
    assert replay.stream_url("http://h:1", "k", "x", s.at("10:00")).startswith("ws:")


def _poster(handler):
    client = httpx.AsyncClient(
        base_url="http://api", transport=httpx.MockTransport(handler)
    )
    return replay.Poster(client, replay.Target("http://api", "dev-1", "loom_k"))


def test_a_503_is_retried_at_most_twice(monkeypatch):
    calls = []

    def handler(request):
        calls.append(request)
        return httpx.Response(503, headers={"Retry-After": "0"}, json={"detail": "no"})

    with pytest.raises(replay.ReplayError, match="answered 503: no"):
        asyncio.run(_poster(handler).post("/v1/events:batch", {}))
    assert len(calls) == 3
    assert calls[0].headers["authorization"] == "Bearer loom_k"


def test_a_refusal_names_the_route_status_and_detail():
    detail = [{"loc": ["body", "bpm"], "msg": "too high"}]

    def handler(_request):
        return httpx.Response(422, json={"detail": detail})

    with pytest.raises(replay.ReplayError) as caught:
        asyncio.run(_poster(handler).post("/v1/events:batch", {}))
    assert str(caught.value) == (
        f"POST /v1/events:batch answered 422: {json.dumps(detail)}"
    )


def test_an_unreachable_api_is_one_line():
    refused = httpx.ConnectError("refused")

    def handler(_request):
        raise refused

    with pytest.raises(replay.ReplayError, match="is `loom demo`'s ingest API up"):
        asyncio.run(_poster(handler).post("/v1/compat/overland", {}))


def test_owntracks_posts_one_fix_per_request_with_basic_auth():
    seen = []

    def handler(request):
        seen.append(request)
        return httpx.Response(200, json=[])

    advanced = []
    fixes = s.track(random.Random(1))[:5]
    asyncio.run(
        replay.post_owntracks(_poster(handler), fixes, lambda n, k: advanced.append(k))
    )
    assert len(seen) == 5
    user, key = (
        base64.b64decode(seen[0].headers["authorization"].removeprefix("Basic "))
        .decode()
        .split(":")
    )
    assert (user, key) == ("dev-1", "loom_k")
    assert seen[0].headers["x-limit-u"] == "dev-1"
    assert sorted(json.loads(r.content)["tst"] for r in seen) == sorted(
        int(f.at.timestamp()) for f in fixes
    )
    assert sum(advanced) == 5


def test_overland_posts_batches_of_the_apps_size():
    sizes = []

    def handler(request):
        sizes.append(len(json.loads(request.content)["locations"]))
        return httpx.Response(200, json={"result": "ok"})

    fixes = s.track(random.Random(1))[: replay.OVERLAND_BATCH * 2 + 3]
    asyncio.run(replay.post_overland(_poster(handler), fixes, lambda *_: None))
    assert sizes == [replay.OVERLAND_BATCH, replay.OVERLAND_BATCH, 3]


def test_a_pair_that_does_not_pair_is_an_error():
    answers = iter(["a", "b"])

    def handler(_request):
        return httpx.Response(202, json={"event_id": next(answers)})

    pair = [f for f in s.frames() if f.pair_id]
    with pytest.raises(replay.ReplayError, match="was not paired"):
        asyncio.run(replay.post_frames(_poster(handler), pair, lambda *_: None))
