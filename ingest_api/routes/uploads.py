"""Resumable uploads of long recordings (audio or video).

``POST /v1/uploads`` starts one, ``PUT /v1/uploads/{file_id}`` appends a chunk at
the byte offset in ``Upload-Offset`` (or ``?offset=``), ``GET`` returns the
committed offset, ``POST .../complete`` decodes the recording and produces its
events: the audio as ``AudioChunk``s (``stream_id`` = file id, ``sequence`` n) and,
for a video, one ``CameraFrame`` every ``LOOM_VIDEO_FRAME_INTERVAL_SECONDS``.
Event ids derive from the file id, so completing twice lands everything once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Annotated, Any, TypeVar

from fastapi import (
    APIRouter,
    Body,
    Header,
    HTTPException,
    Query,
    Request,
    Response,
    status,
)
from pydantic import BaseModel, ConfigDict, Field, model_validator

from ingest_api import media
from ingest_api.audio import Chunker, ChunkSequence, chunk_bytes
from ingest_api.errors import AUTH, INVALID, UNAVAILABLE, one_invalid
from ingest_api.json_body import BoundedJsonRoute
from ingest_api.publish import Accepted
from ingest_api.services import AuthenticatedDevice, Services, ServicesDep
from ingest_api.settings import IngestSettings
from ingest_api.uploads import UploadMeta, UploadStore
from loom_core.contracts import FAMILIES, CameraFrame, FrameImage, utc_now
from loom_core.contracts.envelope import DeviceId, RecordedAt
from loom_core.contracts.ids import frame_id

router = APIRouter(prefix="/v1/uploads", tags=["uploads"], route_class=BoundedJsonRoute)
AUDIO, CAMERA = FAMILIES["audio"], FAMILIES["camera"]
IN_FLIGHT = 8  # chunks produced together while completing an upload
T = TypeVar("T")
_DONE = object()
EXPIRED = {
    404: {"description": "No such upload for this device"},
    410: {"description": "The upload expired (no chunk for the upload TTL)"},
}


class NewUpload(BaseModel):
    """What is about to be uploaded."""

    model_config = ConfigDict(extra="forbid")

    content_type: str = Field(
        description="audio/* or video/* (decoded with FFmpeg), or audio/pcm for raw "
        "PCM16 little-endian mono (then sample_rate is required)",
        examples=["audio/wav", "video/mp4", "audio/pcm"],
        max_length=128,
    )
    size: int | None = Field(default=None, ge=1, description="Total bytes, if known")
    recorded_at: RecordedAt | None = Field(
        default=None,
        description="Start of the recording, UTC; default: the container's "
        "creation time (or give it to complete)",
    )
    sample_rate: int | None = Field(default=None, ge=8_000, le=48_000)
    filename: str | None = Field(default=None, max_length=255)
    device_id: DeviceId | None = None

    @model_validator(mode="after")
    def _raw_pcm_needs_rate(self) -> NewUpload:
        if media.is_raw_pcm(self.content_type) and self.sample_rate is None:
            msg = "audio/pcm uploads need sample_rate"
            raise ValueError(msg)
        return self


class Completion(BaseModel):
    """Optional facts given at completion."""

    model_config = ConfigDict(extra="forbid")

    recorded_at: RecordedAt | None = None


class UploadState(BaseModel):
    """Where an upload stands."""

    file_id: str
    offset: int
    size: int | None
    content_type: str
    expires_in: int | None = None
    result: dict[str, Any] | None = None


def upload_state(
    store: UploadStore, meta: UploadMeta, offset: int, response: Response
) -> UploadState:
    """Return where an upload stands, with its offset as ``Upload-Offset`` too."""
    response.headers["Upload-Offset"] = str(offset)
    return UploadState(
        file_id=meta.file_id,
        offset=offset,
        size=meta.size,
        content_type=meta.content_type,
        expires_in=None if meta.result else store.ttl_s,
        result=meta.result,
    )


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=UploadState,
    responses={
        **AUTH,
        **INVALID,
        **UNAVAILABLE,
        415: {"description": "Not a supported audio/video type"},
    },
    summary="Start a resumable upload",
)
async def create_upload(
    upload: NewUpload,
    device_id: AuthenticatedDevice,
    services: ServicesDep,
    response: Response,
) -> UploadState:
    """Start an upload at offset 0; ``Location`` is where its chunks go."""
    if upload.device_id is not None and upload.device_id != device_id:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            f"this API key belongs to device {device_id!r}, not {upload.device_id!r}",
        )
    if not media.supported(upload.content_type):
        raise HTTPException(
            status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
            f"cannot ingest {upload.content_type!r}; uploads are one of "
            f"{', '.join(sorted(media.DEMUXERS))} (or audio/pcm with sample_rate)",
        )
    publisher = services.publisher
    if upload.recorded_at and upload.recorded_at < publisher.earliest_recorded_at:
        raise publisher.too_early()
    store = services.uploads
    if upload.size is not None and upload.size > store.max_bytes:
        raise HTTPException(
            status.HTTP_413_CONTENT_TOO_LARGE,
            f"{upload.size} bytes is over the upload limit of {store.max_bytes}",
        )
    meta = UploadMeta(
        file_id=store.new_id(),
        device_id=device_id,
        created_at=utc_now(),
        **upload.model_dump(exclude={"device_id"}),
    )
    await store.create(meta)
    response.headers["Location"] = f"/v1/uploads/{meta.file_id}"
    return upload_state(store, meta, 0, response)


@router.get(
    "/{file_id}",
    response_model=UploadState,
    responses={**AUTH, **EXPIRED, **UNAVAILABLE},
    summary="Where an upload stands",
)
async def get_upload(
    file_id: str,
    device_id: AuthenticatedDevice,
    services: ServicesDep,
    response: Response,
) -> UploadState:
    """Return the committed offset (also as ``Upload-Offset``), or the result."""
    store = services.uploads
    meta = store.meta(file_id, device_id)
    offset = meta.result["bytes"] if meta.result else await store.offset(meta)
    return upload_state(store, meta, offset, response)


# How a chunk PUT is documented, here and for history imports (routes/imports.py).
CHUNK_RESPONSES = {
    **AUTH,
    **EXPIRED,
    **UNAVAILABLE,
    409: {"description": "Wrong offset; the answer holds expected_offset"},
    413: {"description": "The chunk is too big or goes past the declared size"},
}
CHUNK_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/octet-stream": {
                "schema": {"type": "string", "format": "binary"}
            }
        },
    }
}


@router.put(
    "/{file_id}",
    response_model=UploadState,
    responses=CHUNK_RESPONSES,
    openapi_extra=CHUNK_BODY,
    summary="Append a chunk at an offset",
)
async def put_chunk(
    *,
    file_id: str,
    request: Request,
    device_id: AuthenticatedDevice,
    services: ServicesDep,
    response: Response,
    upload_offset: Annotated[int | None, Header(ge=0)] = None,
    offset: Annotated[int | None, Query(ge=0)] = None,
) -> UploadState:
    """Write the body at the given byte offset; answer the new committed offset."""
    at = upload_offset if upload_offset is not None else offset
    if at is None:
        raise one_invalid(
            ["header", "upload-offset"],
            "say where this chunk goes: Upload-Offset header or ?offset=",
        )
    store = services.uploads
    meta = store.meta(file_id, device_id)
    if meta.result is not None:
        raise store.conflict(meta.result["bytes"], "this upload is already complete")
    async with store.lock(file_id):
        data = await request.body()
        new_offset = await store.write(meta, at, data)
    services.metrics.upload_bytes.inc(len(data))
    return upload_state(store, meta, new_offset, response)


@router.post(
    "/{file_id}/complete",
    responses={
        **AUTH,
        **EXPIRED,
        **UNAVAILABLE,
        409: {"description": "The upload is not complete yet (expected_offset)"},
        413: {"description": "Decoding would pass a bound (duration, size, time)"},
        415: {"description": "The bytes are not of the declared content type"},
        422: {"description": "The recording cannot be decoded, or has no start time"},
    },
    summary="Finish an upload and produce its events",
)
async def complete_upload(
    file_id: str,
    device_id: AuthenticatedDevice,
    services: ServicesDep,
    completion: Annotated[Completion | None, Body()] = None,
) -> dict[str, Any]:
    """Decode the recording and produce its audio chunks and video frames.

    Answers once Kafka has every event; on a 503 call it again (ids repeat).
    """
    store = services.uploads
    meta = store.meta(file_id, device_id)
    async with store.lock(file_id):
        meta = store.meta(file_id, device_id)
        if meta.result is None:
            offset = await store.offset(meta)
            if meta.size is not None and offset != meta.size:
                raise store.conflict(
                    offset, f"only {offset} of {meta.size} bytes are uploaded"
                )
            result = await _produce_upload(
                services, meta, completion.recorded_at if completion else None
            )
            meta = await store.finish(meta, {"bytes": offset, **result})
    return {"file_id": file_id, **(meta.result or {})}


def decode_limits(settings: IngestSettings) -> media.DecodeLimits:
    """Return what decoding one upload may cost, from the settings."""
    return media.DecodeLimits(
        settings.upload_max_decoded_seconds,
        settings.upload_max_decode_ratio,
        settings.upload_decode_timeout_seconds,
    )


async def _next(iterator: Iterator[T]) -> T | object:
    """Advance a (blocking) decoder in a worker thread."""
    return await asyncio.to_thread(next, iterator, _DONE)


async def _produce_upload(
    services: Services, meta: UploadMeta, recorded_at: datetime | None
) -> dict[str, Any]:
    path = services.uploads.data_path(meta.file_id)
    limits = decode_limits(services.settings)
    try:
        if media.is_raw_pcm(meta.content_type):
            probe = media.Probe(meta.sample_rate, has_video=False, created_at=None)
        else:
            probe = await asyncio.to_thread(
                media.probe, path, meta.content_type, limits
            )
        earliest = services.publisher.earliest_recorded_at
        if recorded_at and recorded_at < earliest:
            raise services.publisher.too_early()
        created = probe.created_at
        if created and created < earliest:  # e.g. QuickTime's 1904 "unset"
            created = None
        started = recorded_at or meta.recorded_at or created
        if started is None:
            raise one_invalid(
                ["body", "recorded_at"],
                "the recording's start time is unknown: give recorded_at",
            )
        chunks = 0
        if probe.sample_rate is not None:
            pcm = (
                media.raw_pcm(path)
                if media.is_raw_pcm(meta.content_type)
                else media.decoded_pcm(
                    path, meta.content_type, probe.sample_rate, limits
                )
            )
            chunks = await _produce_audio(
                services, meta, probe.sample_rate, started, pcm
            )
        frames = 0
        if probe.has_video:
            frames = await _produce_frames(services, meta, started, path)
    except media.WrongFormatError as exc:
        raise HTTPException(status.HTTP_415_UNSUPPORTED_MEDIA_TYPE, str(exc)) from None
    except media.TooCostlyError as exc:
        raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, str(exc)) from None
    except media.MediaError as exc:
        raise one_invalid(["body"], str(exc)) from None
    return {
        "status": "complete",
        "stream_id": meta.file_id,
        "recorded_at": started.isoformat(),
        "sample_rate": probe.sample_rate,
        "audio_chunks": chunks,
        "camera_frames": frames,
    }


async def _flush(services: Services, pending: list[tuple[Any, Any]]) -> None:
    outcomes = await services.publisher.publish_many(pending)
    pending.clear()
    for outcome in outcomes:
        if not isinstance(outcome, Accepted):
            raise outcome


async def _produce_audio(
    services: Services,
    meta: UploadMeta,
    sample_rate: int,
    started: datetime,
    pcm: Iterator[bytes],
) -> int:
    settings = services.settings
    chunker = Chunker(
        chunk_bytes(
            sample_rate, settings.audio_chunk_seconds, settings.kafka_max_message_bytes
        )
    )
    sequence = ChunkSequence(meta.device_id, meta.file_id, sample_rate, started)
    pending: list[tuple[Any, Any]] = []
    while (block := await _next(pcm)) is not _DONE:
        for chunk in chunker.feed(block):  # type: ignore[arg-type]
            pending.append((AUDIO, sequence.next_event(chunk)))
            if len(pending) >= IN_FLIGHT:
                await _flush(services, pending)
    try:
        rest = chunker.flush()
    except ValueError as exc:
        raise one_invalid(["body"], str(exc)) from None
    if rest:
        pending.append((AUDIO, sequence.next_event(rest)))
    await _flush(services, pending)
    return sequence.sequence


async def _produce_frames(
    services: Services, meta: UploadMeta, started: datetime, path: Any
) -> int:
    settings = services.settings
    frames = media.video_frames(
        path,
        meta.content_type,
        settings.video_frame_interval_seconds,
        settings.video_frame_max_side,
        decode_limits(settings),
    )
    pending: list[tuple[Any, Any]] = []
    count = 0
    while (item := await _next(frames)) is not _DONE:
        at, jpeg = item  # type: ignore[misc]
        frame = CameraFrame(
            event_id=frame_id(meta.device_id, meta.file_id, count),
            device_id=meta.device_id,
            recorded_at=started + timedelta(seconds=at),
            received_at=utc_now(),
            images=[FrameImage(content_type="image/jpeg", data=jpeg)],
            pair_id=None,
            pairing="single",
        )
        pending.append((CAMERA, frame))
        count += 1
        if len(pending) >= IN_FLIGHT:
            await _flush(services, pending)
    await _flush(services, pending)
    return count
