"""Decoding uploaded recordings: PCM16 mono audio and sampled video frames.

Raw little-endian PCM16 mono is read as is. Everything else (WAV, MP3, M4A, Ogg,
FLAC, MP4, MOV, WebM, ...) is decoded with PyAV (FFmpeg): the audio track is
resampled to mono signed 16-bit, and a video track is sampled at a fixed interval
into JPEG frames. The functions are generators, so an hour of audio never sits in
memory at once; they are run in a worker thread.
"""

from __future__ import annotations

import io
import math
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import av
from av.error import FFmpegError

RAW_PCM = "audio/pcm"
MIN_RATE, MAX_RATE = 8_000, 48_000
FALLBACK_RATE = 16_000
READ_BLOCK = 1 << 20
JPEG_QUALITY = 85


class MediaError(Exception):
    """The upload cannot be decoded; the message says what is wrong with it."""


def supported(content_type: str) -> bool:
    """Return True for the media types an upload may have (audio and video)."""
    kind = content_type.split(";", 1)[0].strip().lower()
    return kind == RAW_PCM or kind.startswith(("audio/", "video/"))


def is_raw_pcm(content_type: str) -> bool:
    """Return True for headerless PCM16 mono (which needs a declared sample rate)."""
    return content_type.split(";", 1)[0].strip().lower() == RAW_PCM


def output_rate(source_rate: int) -> int:
    """Return the sample rate audio is kept at.

    The source's rate if the contract allows it (8-48 kHz), else 48 kHz for higher
    rates and 16 kHz for lower ones.
    """
    if MIN_RATE <= source_rate <= MAX_RATE:
        return source_rate
    return MAX_RATE if source_rate > MAX_RATE else FALLBACK_RATE


@dataclass(frozen=True)
class Probe:
    """What a recording holds."""

    sample_rate: int | None  # None without an audio track
    has_video: bool
    created_at: datetime | None  # the container's creation_time, if it has one


def probe(path: Path) -> Probe:
    """Return what ``path`` holds.

    Raises
    ------
    MediaError
        When FFmpeg cannot read it, or it has neither audio nor video.
    """
    try:
        with av.open(str(path)) as container:
            audio = container.streams.audio
            video = container.streams.video
            created = container.metadata.get("creation_time")
            result = Probe(
                output_rate(audio[0].rate) if audio else None,
                bool(video),
                _parse_creation(created),
            )
    except (FFmpegError, OSError) as exc:
        msg = f"cannot decode the upload as audio or video: {exc}"
        raise MediaError(msg) from None
    if result.sample_rate is None and not result.has_video:
        msg = "the upload has neither an audio nor a video track"
        raise MediaError(msg)
    return result


def _parse_creation(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment.replace(tzinfo=moment.tzinfo or UTC).astimezone(UTC)


def raw_pcm(path: Path) -> Iterator[bytes]:
    """Yield the bytes of a raw PCM upload in blocks."""
    with path.open("rb") as handle:
        while block := handle.read(READ_BLOCK):
            yield block


def decoded_pcm(path: Path, sample_rate: int) -> Iterator[bytes]:
    """Yield the audio track of ``path`` as PCM16 mono at ``sample_rate``.

    Raises
    ------
    MediaError
        When the audio cannot be decoded.
    """
    resampler = av.AudioResampler(format="s16", layout="mono", rate=sample_rate)
    try:
        with av.open(str(path)) as container:
            stream = container.streams.audio[0]
            for frame in container.decode(stream):
                for out in resampler.resample(frame):
                    yield bytes(out.planes[0])[: out.samples * 2]
            for out in resampler.resample(None):
                yield bytes(out.planes[0])[: out.samples * 2]
    except FFmpegError as exc:
        msg = f"cannot decode the audio track: {exc}"
        raise MediaError(msg) from None


def video_frames(
    path: Path, interval_s: float, max_side: int
) -> Iterator[tuple[float, bytes]]:
    """Yield ``(seconds from start, JPEG)`` for one frame every ``interval_s``.

    Frames are scaled to fit ``max_side`` pixels, so each fits a Kafka message.

    Raises
    ------
    MediaError
        When the video cannot be decoded.
    """
    next_at = 0.0
    try:
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            start = stream.start_time * stream.time_base if stream.start_time else 0
            for frame in container.decode(stream):
                if frame.time is None:
                    continue
                at = float(frame.time - start)
                if at + 1e-6 < next_at:
                    continue
                image = frame.to_image()
                image.thumbnail((max_side, max_side))
                buffer = io.BytesIO()
                image.save(buffer, format="JPEG", quality=JPEG_QUALITY)
                yield at, buffer.getvalue()
                next_at = (math.floor(at / interval_s) + 1) * interval_s
    except FFmpegError as exc:
        msg = f"cannot decode the video track: {exc}"
        raise MediaError(msg) from None
