"""Post a sample day through the real ingest API, the way devices and apps post it.

- GPS: the first half of the track the way OwnTracks posts it (one location
  message per POST, HTTP Basic auth with the device id as user,
  ``X-Limit-U``/``X-Limit-D`` headers), the second half the way Overland does (batches of GeoJSON features, Bearer token);
- heart rate: one ``POST /v1/events:batch``;
- microphone: each conversation streamed over ``WS /v1/stream/audio`` in 0.5 s
  frames, with a fixed stream id, so its chunks keep their ids on a replay;
- camera: each frame posted alone, the front/back pair as two concurrent posts
  with one ``pair_id`` (the first waits for its mate); then the screenshot.

Every id is deterministic (apps' points: device, time and app; audio: stream and
sequence; frames and the screenshot: an id of their own), so a second replay
lands nothing twice.
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

import httpx

from loom_cli.demo.sample_day import SAMPLE_RATE, Fix, Frame, SampleDay
from loom_core.contracts import FAMILIES
from loom_core.contracts.ids import demo_event_id
from loom_core.settings import EXTERNAL_TIMEOUT_S

OVERLAND_BATCH = 200  # the app's default "points per batch"
POST_CONCURRENCY = 4
AUDIO_FRAME_BYTES = SAMPLE_RATE  # 0.5 s of PCM16 mono
TIMEOUT = httpx.Timeout(5.0, read=15.0)  # a paired frame waits up to 10 s for its mate
MAX_ATTEMPTS = 3  # the first try and at most two retries, on 503 only

# The progress channels, in display order: name -> (raw table, unit).
CHANNELS: dict[str, tuple[str, str]] = {
    "GPS as OwnTracks posts it (one fix per POST)": ("gps_data", "fixes"),
    f"GPS as Overland posts it (batches of {OVERLAND_BATCH})": ("gps_data", "fixes"),
    "heart rate (POST /v1/events:batch)": ("heartrate_data", "readings"),
    "microphone (WebSocket stream)": ("audio_chunks", "s of audio"),
    "camera frames (a front/back pair)": ("camera_frames", "frames"),
    "screenshot": ("screenshots", "images"),
}
OWNTRACKS, OVERLAND, HEART, MICROPHONE, CAMERA, SCREENSHOT = CHANNELS
TABLES = tuple(dict.fromkeys(table for table, _ in CHANNELS.values()))
TOPICS = {f.table: f.topic.name for f in FAMILIES.values() if f.table in TABLES}

Advance = Callable[[str, float], None]


class ReplayError(Exception):
    """A post the API refused or could not take; the message says which and why."""


@dataclass(frozen=True)
class Target:
    """Where to post, and as which device."""

    api_url: str
    device_id: str
    key: str


@dataclass
class Replayed:
    """What the API acknowledged, per raw table: distinct events."""

    events: Counter[str] = field(default_factory=Counter)


def channel_totals(day: SampleDay) -> dict[str, float]:
    """Return how much each progress channel will post."""
    morning, rest = split_day(day.fixes)
    return {
        OWNTRACKS: len(morning),
        OVERLAND: len(rest),
        HEART: len(day.heart_rate),
        MICROPHONE: sum(len(pcm) for _, pcm, _ in day.speech) / 2 / SAMPLE_RATE,
        CAMERA: sum(f.kind == "camera" for f in day.frames),
        SCREENSHOT: sum(f.kind == "screenshot" for f in day.frames),
    }


def split_day(fixes: Sequence[Fix]) -> tuple[list[Fix], list[Fix]]:
    """Return the fixes OwnTracks posts and those Overland posts (halves by time)."""
    if not fixes:
        return [], []
    middle = fixes[0].at + (fixes[-1].at - fixes[0].at) / 2
    return [f for f in fixes if f.at < middle], [f for f in fixes if f.at >= middle]


def owntracks_message(fix: Fix) -> dict[str, Any]:
    """Return the OwnTracks ``location`` message of a fix (km/h, percent, epoch s)."""
    return {
        "_type": "location",
        "tid": "dp",
        "tst": int(fix.at.timestamp()),
        "lat": round(fix.lat, 7),
        "lon": round(fix.lon, 7),
        "acc": round(fix.accuracy_m),
        "vel": round(fix.speed_mps * 3.6),
        "batt": round(fix.battery * 100),
        "conn": "m",
    }


def overland_feature(fix: Fix) -> dict[str, Any]:
    """Return the Overland GeoJSON feature of a fix (``[lon, lat]``, m/s, 0-1)."""
    return {
        "type": "Feature",
        "geometry": {
            "type": "Point",
            "coordinates": [round(fix.lon, 7), round(fix.lat, 7)],
        },
        "properties": {
            "timestamp": fix.at.isoformat().replace("+00:00", "Z"),
            "speed": fix.speed_mps,
            "horizontal_accuracy": fix.accuracy_m,
            "battery_level": fix.battery,
            "battery_state": "unplugged",
        },
    }


def frame_body(frame: Frame, device_id: str) -> dict[str, Any]:
    """Return the ``POST /v1/events/camera`` or ``/screenshot`` body of a frame."""
    data = base64.b64encode(frame.jpeg).decode()
    body: dict[str, Any] = {
        "event_id": str(demo_event_id(device_id, frame.label)),
        "recorded_at": frame.at.isoformat(),
    }
    if frame.kind == "screenshot":
        return body | {"content_type": "image/jpeg", "data": data, "app": "Tickets"}
    image = {"camera": frame.camera, "content_type": "image/jpeg", "data": data}
    pair = {"pair_id": frame.pair_id} if frame.pair_id else {}
    return body | {"images": [image]} | pair


def stream_url(api_url: str, key: str, stream_id: str, started: datetime) -> str:
    """Return the WebSocket URL of an audio stream that started at ``started``."""
    parts = urlsplit(api_url)
    query = urlencode(
        {
            "key": key,
            "sample_rate": SAMPLE_RATE,
            "stream_id": stream_id,
            "recorded_at": started.isoformat(),
        }
    )
    scheme = "wss" if parts.scheme == "https" else "ws"
    return urlunsplit((scheme, parts.netloc, "/v1/stream/audio", query, ""))


def _refusal(response: httpx.Response) -> str:
    try:
        detail: Any = response.json().get("detail", response.text)
    except (ValueError, AttributeError):
        detail = response.text
    text = detail if isinstance(detail, str) else json.dumps(detail)
    return f"{response.request.method} {response.request.url.path} answered {response.status_code}: {text[:300]}"


class Poster:
    """Posts to the API with the device's key, retrying a 503 at most twice."""

    def __init__(self, client: httpx.AsyncClient, target: Target) -> None:
        self.client = client
        self.target = target

    async def post(
        self, path: str, body: object, headers: dict[str, str] | None = None
    ) -> httpx.Response:
        """POST JSON; return the 2xx answer or raise :class:`ReplayError`."""
        auth = {"Authorization": f"Bearer {self.target.key}"}
        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                response = await self.client.post(
                    path, json=body, headers=headers or auth
                )
            except httpx.HTTPError as exc:
                msg = f"POST {path} failed ({type(exc).__name__}: {exc}); is `loom demo`'s ingest API up?"
                raise ReplayError(msg) from None
            if response.status_code != 503 or attempt == MAX_ATTEMPTS:
                break
            await asyncio.sleep(float(response.headers.get("retry-after", "1")))
        if response.is_error:
            raise ReplayError(_refusal(response))
        return response


async def _limited(tasks: Sequence[Callable[[], Awaitable[None]]], limit: int) -> None:
    gate = asyncio.Semaphore(limit)

    async def run(task: Callable[[], Awaitable[None]]) -> None:
        async with gate:
            await task()

    await asyncio.gather(*(run(t) for t in tasks))


async def post_owntracks(
    poster: Poster, fixes: Sequence[Fix], advance: Advance
) -> None:
    """Post each fix alone, as OwnTracks in HTTP mode does (Basic auth)."""
    target = poster.target
    basic = base64.b64encode(f"{target.device_id}:{target.key}".encode()).decode()
    headers = {
        "Authorization": f"Basic {basic}",
        "X-Limit-U": target.device_id,
        "X-Limit-D": "phone",
    }

    def one(fix: Fix) -> Callable[[], Awaitable[None]]:
        async def send() -> None:
            response = await poster.post(
                "/v1/compat/owntracks", owntracks_message(fix), headers
            )
            if response.json() != []:
                msg = f"OwnTracks expects [] as the answer, got {response.text[:100]}"
                raise ReplayError(msg)
            advance(OWNTRACKS, 1)

        return send

    await _limited([one(f) for f in fixes], POST_CONCURRENCY)


async def post_overland(poster: Poster, fixes: Sequence[Fix], advance: Advance) -> None:
    """Post the fixes in batches of GeoJSON features, as Overland does."""
    for start in range(0, len(fixes), OVERLAND_BATCH):
        batch = fixes[start : start + OVERLAND_BATCH]
        body = {"locations": [overland_feature(f) for f in batch]}
        answer = (await poster.post("/v1/compat/overland", body)).json()
        if answer.get("result") != "ok":
            msg = f"Overland expects result ok, got {json.dumps(answer)[:100]}"
            raise ReplayError(msg)
        advance(OVERLAND, len(batch))


async def post_heart_rate(
    poster: Poster, readings: Sequence[tuple[datetime, int]], advance: Advance
) -> set[str]:
    """Post the readings as one batch; return their event ids."""
    events = [
        {"family": "heartrate", "recorded_at": when.isoformat(), "bpm": bpm}
        for when, bpm in readings
    ]
    answer = (await poster.post("/v1/events:batch", {"events": events})).json()
    results = answer.get("results", [])
    refused = [r for r in results if r.get("status") != 202]
    if refused or len(results) != len(events):
        msg = f"the heart-rate batch was not accepted whole: {json.dumps(refused[:2])[:300]}"
        raise ReplayError(msg)
    advance(HEART, len(events))
    return {r["event_id"] for r in results}


async def stream_audio(
    target: Target,
    started: datetime,
    pcm: bytes,
    advance: Advance,
) -> set[str]:
    """Stream one recording over the WebSocket; return its chunks' event ids."""
    from websockets.asyncio.client import connect  # noqa: PLC0415 - only here
    from websockets.exceptions import WebSocketException  # noqa: PLC0415

    stream_id = f"demo-{started:%Y%m%dT%H%M}"
    url = stream_url(target.api_url, target.key, stream_id, started)
    ids: set[str] = set()
    acked = 0
    try:
        async with connect(
            url, open_timeout=EXTERNAL_TIMEOUT_S, close_timeout=EXTERNAL_TIMEOUT_S
        ) as ws:
            _expect(json.loads(await ws.recv()), "ready")
            for start in range(0, len(pcm), AUDIO_FRAME_BYTES):
                await ws.send(pcm[start : start + AUDIO_FRAME_BYTES])
            await ws.send(json.dumps({"type": "end"}))
            async for raw in ws:
                message = json.loads(raw)
                if message.get("type") == "ack":
                    ids.add(message["event_id"])
                    advance(MICROPHONE, (message["bytes"] - acked) / 2 / SAMPLE_RATE)
                    acked = message["bytes"]
                elif _expect(message, "end"):
                    break
    except (OSError, TimeoutError, WebSocketException) as exc:
        msg = f"the audio stream {stream_id} failed ({type(exc).__name__}: {exc})"
        raise ReplayError(msg) from None
    if acked != len(pcm):
        msg = f"the audio stream {stream_id} ended with {acked} of {len(pcm)} bytes acknowledged"
        raise ReplayError(msg)
    return ids


def _expect(message: dict[str, Any], kind: str) -> bool:
    if message.get("type") == kind:
        return True
    msg = (
        f"the audio stream answered {json.dumps(message)[:200]} where {kind!r} was due"
    )
    raise ReplayError(msg)


async def post_frames(
    poster: Poster, frames: Sequence[Frame], advance: Advance
) -> tuple[set[str], set[str]]:
    """Post camera frames (a pair as two concurrent posts), then screenshots.

    Returns the event ids of the camera messages and of the screenshots.
    """
    device = poster.target.device_id
    camera: set[str] = set()
    singles = [f for f in frames if f.kind == "camera" and not f.pair_id]
    pairs: dict[str, list[Frame]] = {}
    for frame in frames:
        if frame.kind == "camera" and frame.pair_id:
            pairs.setdefault(frame.pair_id, []).append(frame)

    async def send(frame: Frame) -> str:
        answer = (
            await poster.post(f"/v1/events/{frame.kind}", frame_body(frame, device))
        ).json()
        advance(CAMERA if frame.kind == "camera" else SCREENSHOT, 1)
        return answer["event_id"]

    for frame in singles:
        camera.add(await send(frame))
    for mates in pairs.values():
        acks = await asyncio.gather(*(send(f) for f in mates))
        if len(set(acks)) != 1:
            msg = f"the pair {mates[0].pair_id} was not paired (acks {acks})"
            raise ReplayError(msg)
        camera.update(acks)
    screenshots = {await send(f) for f in frames if f.kind == "screenshot"}
    return camera, screenshots


async def replay(day: SampleDay, target: Target, advance: Advance) -> Replayed:
    """Post the whole sample; return the distinct events acknowledged per table."""
    morning, rest = split_day(day.fixes)
    async with httpx.AsyncClient(base_url=target.api_url, timeout=TIMEOUT) as client:
        poster = Poster(client, target)
        results = await asyncio.gather(
            post_owntracks(poster, morning, advance),
            post_overland(poster, rest, advance),
            post_heart_rate(poster, day.heart_rate, advance),
            *(stream_audio(target, when, pcm, advance) for when, pcm, _ in day.speech),
            post_frames(poster, day.frames, advance),
        )
    done = Replayed()
    done.events["gps_data"] = len(day.fixes)
    done.events["heartrate_data"] = len(results[2])
    done.events["audio_chunks"] = sum(len(ids) for ids in results[3:-1])
    camera, screenshots = results[-1]
    done.events["camera_frames"] = len(camera)
    done.events["screenshots"] = len(screenshots)
    return done
