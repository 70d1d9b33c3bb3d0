"""``WS /v1/stream/audio``: live microphone audio, cut into acknowledged chunks.

Protocol (also in docs/ingest-api.md):

- Connect with the API key (header, or ``?key=`` where a browser cannot set one)
  and optional ``sample_rate`` (default 16000), ``stream_id``, ``sequence`` and
  ``recorded_at`` (time of the first sample sent on this connection; default:
  now). To resume after a drop, pass the same ``stream_id``, the next
  ``sequence`` and, as ``recorded_at``, the last ack's ``recorded_at`` plus its
  ``duration_s``.
- The server says ``{"type": "ready", ...}``, then the client sends binary frames of
  PCM16 little-endian mono, or text frames ``{"data": "<base64>"}``.
- Each full chunk (``LOOM_AUDIO_CHUNK_SECONDS``) is produced to Kafka, then
  acknowledged: ``{"type": "ack", "sequence", "event_id", "bytes", ...}``.
- ``{"type": "end"}`` produces the rest, acknowledges it, answers
  ``{"type": "end", ...}`` and closes (1000). Bytes not acknowledged when a
  connection drops were not stored: resend them on a resumed stream.
- Errors come as ``{"type": "error", "detail": ...}`` before the close: 1007 for
  bad frames, 1013 (try again later) when Kafka does not acknowledge.
"""

from __future__ import annotations

import base64
import uuid
from datetime import datetime
from typing import Any

from fastapi import APIRouter, HTTPException, WebSocket
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, ValidationError
from starlette.websockets import WebSocketDisconnect

from ingest_api.audio import Chunker, ChunkSequence, chunk_bytes
from ingest_api.auth import authenticate
from ingest_api.errors import field_errors
from ingest_api.json_body import JsonLimitError, parse_json
from ingest_api.services import Services, ServicesDep
from loom_core.contracts import FAMILIES, utc_now
from loom_core.contracts.envelope import RecordedAt

router = APIRouter(tags=["audio"])
AUDIO = FAMILIES["audio"]
WS_INVALID_DATA = 1007
WS_POLICY = 1008
WS_TRY_AGAIN_LATER = 1013
MAX_TEXT_FRAME = 16 * 1024 * 1024  # uvicorn's largest WebSocket message


class StreamParams(BaseModel):
    """Query parameters of an audio stream."""

    sample_rate: int = Field(default=16_000, ge=8_000, le=48_000)
    stream_id: str = Field(
        default_factory=lambda: uuid.uuid4().hex,
        max_length=64,
        pattern=r"^[A-Za-z0-9._:-]+$",
    )
    sequence: int = Field(default=0, ge=0)
    recorded_at: RecordedAt | None = None


class StreamError(Exception):
    """The stream must end: ``code`` is the WebSocket close code."""

    def __init__(self, code: int, detail: Any) -> None:
        super().__init__(str(detail))
        self.code = code
        self.detail = detail


async def _refuse(websocket: WebSocket, code: int, detail: Any) -> None:
    """Refuse the handshake with an HTTP answer where the server allows it."""
    if "websocket.http.response" in websocket.scope.get("extensions", {}):
        await websocket.send_denial_response(JSONResponse({"detail": detail}, code))
    else:
        await websocket.close(WS_POLICY, reason=str(detail)[:120])


def _decode_text(text: str) -> bytes | None:
    """Return the audio of a text frame, or ``None`` for ``{"type": "end"}``."""
    try:
        message = parse_json(text, MAX_TEXT_FRAME)
    except JsonLimitError as exc:
        raise StreamError(WS_INVALID_DATA, f"text frames are JSON: {exc}") from None
    if not isinstance(message, dict):
        raise StreamError(WS_INVALID_DATA, "text frames are JSON objects")
    if message.get("type") == "end":
        return None
    try:
        return base64.b64decode(message["data"], validate=True)
    except (KeyError, TypeError, ValueError):  # binascii.Error, non-ASCII text
        detail = 'a text frame is {"data": "<base64 PCM16>"} or {"type": "end"}'
        raise StreamError(WS_INVALID_DATA, detail) from None


class AudioStream:
    """One connection's recording: buffers frames, produces and acks chunks."""

    def __init__(
        self,
        websocket: WebSocket,
        services: Services,
        device_id: str,
        params: StreamParams,
    ) -> None:
        settings = services.settings
        self.websocket = websocket
        self.publisher = services.publisher
        self.chunker = Chunker(
            chunk_bytes(
                params.sample_rate,
                settings.audio_chunk_seconds,
                settings.kafka_max_message_bytes,
            )
        )
        self.sequence = ChunkSequence(
            device_id,
            params.stream_id,
            params.sample_rate,
            params.recorded_at or utc_now(),
            sequence=params.sequence,
        )
        self.acked_bytes = 0

    @property
    def started_at(self) -> datetime:
        """Time of the stream's first sample."""
        return self.sequence.started_at

    async def run(self) -> None:
        """Receive until the client ends the stream or disconnects."""
        await self.websocket.send_json(
            {
                "type": "ready",
                "stream_id": self.sequence.stream_id,
                "sample_rate": self.sequence.sample_rate,
                "chunk_bytes": self.chunker.size,
                "sequence": self.sequence.sequence,
                "recorded_at": self.started_at.isoformat(),
            }
        )
        while True:
            message = await self.websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
            if message.get("bytes") is not None:
                data: bytes | None = message["bytes"]
            else:
                data = _decode_text(message.get("text") or "")
            if data is None:
                await self._end()
                return
            for chunk in self.chunker.feed(data):
                await self._produce(chunk)

    async def _produce(self, pcm: bytes) -> None:
        event = self.sequence.next_event(pcm)
        try:
            accepted = await self.publisher.publish(AUDIO, event)
        except HTTPException as exc:
            raise StreamError(WS_TRY_AGAIN_LATER, exc.detail) from None
        self.acked_bytes += len(pcm)
        await self.websocket.send_json(
            {
                "type": "ack",
                "sequence": event.sequence,
                "recorded_at": event.recorded_at.isoformat(),
                "duration_s": event.duration_s,
                "bytes": self.acked_bytes,
                **accepted.as_json(),
            }
        )

    async def _end(self) -> None:
        try:
            rest = self.chunker.flush()
        except ValueError as exc:
            raise StreamError(WS_INVALID_DATA, str(exc)) from None
        if rest:
            await self._produce(rest)
        await self.websocket.send_json(
            {
                "type": "end",
                "stream_id": self.sequence.stream_id,
                "chunks": self.sequence.sequence,
                "bytes": self.acked_bytes,
            }
        )
        await self.websocket.close(1000)


@router.websocket("/v1/stream/audio")
async def stream_audio(websocket: WebSocket, services: ServicesDep) -> None:
    """Receive PCM16 mono audio and produce it as acknowledged ``AudioChunk``s.

    It authenticates itself, rather than by ``AuthenticatedDevice``, to refuse
    the handshake with the HTTP answer a route gives (:func:`_refuse`).
    """
    try:
        device_id = await authenticate(websocket, services.keys, services.auth_failures)
        params = StreamParams.model_validate(dict(websocket.query_params))
    except HTTPException as exc:
        await _refuse(websocket, exc.status_code, exc.detail)
        return
    except ValidationError as exc:
        await _refuse(websocket, 422, field_errors(exc, ("query",)))
        return
    publisher = services.publisher
    if params.recorded_at and params.recorded_at < publisher.earliest_recorded_at:
        too_early = publisher.too_early(("query", "recorded_at"))
        await _refuse(websocket, 422, too_early.errors())  # type: ignore[attr-defined]
        return
    await websocket.accept()
    services.metrics.audio_streams.inc()
    try:
        await AudioStream(websocket, services, device_id, params).run()
    except StreamError as exc:
        await websocket.send_json({"type": "error", "detail": exc.detail})
        await websocket.close(exc.code, reason=str(exc.detail)[:120])
    except WebSocketDisconnect:
        pass
    finally:
        services.metrics.audio_streams.dec()
