"""Decoding uploaded recordings: PCM16 mono audio and sampled video frames.

Raw little-endian PCM16 mono is read as is. Everything else is decoded with PyAV
(FFmpeg): the audio track is resampled to mono signed 16-bit, and a video track is
sampled at a fixed interval into JPEG frames. The functions are generators, so an
hour of audio never sits in memory at once; they are run in a worker thread.

An upload is hostile input, so FFmpeg only ever reads the upload's own bytes:

- it gets an open file object, never a name it could resolve other files against;
- no protocol is allowed (``protocol_whitelist``) and every attempt to open a
  second input (playlists, ``ffconcat`` lists, HLS, SDP, ...) is refused;
- only the demuxers listed for the declared content type may read it
  (:data:`DEMUXERS`); any other probed format is a :class:`WrongFormatError` (415);
- what one upload may cost is bounded (:class:`DecodeLimits`): decoded duration,
  decoded bytes per uploaded byte and wall time; over a bound is a
  :class:`TooCostlyError` (413).
"""

from __future__ import annotations

import io
import math
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import av
from av.container import InputContainer
from av.error import ArgumentError, FFmpegError

RAW_PCM = "audio/pcm"
MIN_RATE, MAX_RATE = 8_000, 48_000
FALLBACK_RATE = 16_000
READ_BLOCK = 1 << 20
JPEG_QUALITY = 85
SAMPLE_BYTES = 2
MAX_FRAME_PIXELS = 8192 * 8192  # larger video frames are refused, not decoded

_MP4 = ("mov",)  # FFmpeg's "mov,mp4,m4a,3gp,3g2,mj2" demuxer
_MATROSKA = ("matroska",)  # "matroska,webm"
DEMUXERS: dict[str, tuple[str, ...]] = {
    "audio/wav": ("wav",),
    "audio/x-wav": ("wav",),
    "audio/wave": ("wav",),
    "audio/vnd.wave": ("wav",),
    "audio/mpeg": ("mp3",),
    "audio/mp3": ("mp3",),
    "audio/mp4": _MP4,
    "audio/m4a": _MP4,
    "audio/x-m4a": _MP4,
    "audio/aac": ("aac", *_MP4),
    "audio/3gpp": _MP4,
    "audio/ogg": ("ogg",),
    "audio/opus": ("ogg",),
    "audio/flac": ("flac",),
    "audio/x-flac": ("flac",),
    "audio/webm": _MATROSKA,
    "audio/x-matroska": _MATROSKA,
    "video/mp4": _MP4,
    "video/quicktime": _MP4,
    "video/3gpp": _MP4,
    "video/webm": _MATROSKA,
    "video/x-matroska": _MATROSKA,
    "video/ogg": ("ogg",),
}
"""The FFmpeg demuxers allowed to read each declared content type."""


class MediaError(Exception):
    """The upload cannot be decoded; the message says what is wrong with it."""


class WrongFormatError(MediaError):
    """The upload's bytes are not of its declared content type (415)."""


class TooCostlyError(MediaError):
    """Decoding the upload would go past a bound of :class:`DecodeLimits` (413)."""


@dataclass(frozen=True)
class DecodeLimits:
    """What decoding one upload may cost.

    Attributes
    ----------
    max_seconds
        Longest recording (declared or decoded), in seconds.
    max_ratio
        Most decoded PCM bytes per uploaded byte (a compressed hour of silence
        must not become gigabytes).
    max_wall_seconds
        Longest time one decoding pass may take.
    """

    max_seconds: float = 6 * 3600
    max_ratio: float = 256
    max_wall_seconds: float = 600


def media_type(content_type: str) -> str:
    """Return the bare, lower-case media type of a ``Content-Type`` value."""
    return content_type.split(";", 1)[0].strip().lower()


def supported(content_type: str) -> bool:
    """Return True for the media types an upload may have (see :data:`DEMUXERS`)."""
    kind = media_type(content_type)
    return kind == RAW_PCM or kind in DEMUXERS


def is_raw_pcm(content_type: str) -> bool:
    """Return True for headerless PCM16 mono (which needs a declared sample rate)."""
    return media_type(content_type) == RAW_PCM


def output_rate(source_rate: int) -> int:
    """Return the sample rate audio is kept at.

    The source's rate if the contract allows it (8-48 kHz), else 48 kHz for higher
    rates and 16 kHz for lower ones.
    """
    if MIN_RATE <= source_rate <= MAX_RATE:
        return source_rate
    return MAX_RATE if source_rate > MAX_RATE else FALLBACK_RATE


def _no_second_input(url: str, flags: int, options: dict[str, Any]) -> Any:
    """Refuse every input FFmpeg tries to open besides the upload itself."""
    del url, flags, options
    msg = "an upload may not refer to other files"
    raise PermissionError(msg)


@contextmanager
def _opened(path: Path, content_type: str) -> Iterator[InputContainer]:
    """Open the upload's bytes with the demuxers its declared type allows."""
    allowed = DEMUXERS.get(media_type(content_type))
    if allowed is None:
        msg = f"cannot decode {media_type(content_type)!r} uploads"
        raise WrongFormatError(msg)
    options = {"format_whitelist": ",".join(allowed), "protocol_whitelist": "none"}
    with path.open("rb") as handle:
        # FFmpeg reads through Python (a file object without a name it could
        # resolve other files against).
        source = io.BufferedReader(io.FileIO(handle.fileno(), closefd=False))
        try:
            container = av.open(
                source, container_options=options, io_open=_no_second_input
            )
        except ArgumentError:
            msg = (
                f"the upload's bytes are not {media_type(content_type)} "
                f"(read as: {', '.join(allowed)}); declare its real content type"
            )
            raise WrongFormatError(msg) from None
        except (FFmpegError, OSError) as exc:
            raise MediaError(_cannot("the upload as audio or video", exc)) from None
        with container:
            probed = set(container.format.name.split(","))
            if probed.isdisjoint(allowed):  # the whitelist makes this impossible
                msg = f"the upload's bytes are not {media_type(content_type)}"
                raise WrongFormatError(msg)
            yield container


def _cannot(what: str, exc: Exception) -> str:
    # FFmpeg's message without the name of what it read (no server paths).
    reason = getattr(exc, "strerror", None) or type(exc).__name__
    return f"cannot decode {what}: {reason}"


@dataclass(frozen=True)
class Probe:
    """What a recording holds."""

    sample_rate: int | None  # None without an audio track
    has_video: bool
    created_at: datetime | None  # the container's creation_time, if it has one


def probe(path: Path, content_type: str, limits: DecodeLimits) -> Probe:
    """Return what ``path`` holds.

    Raises
    ------
    WrongFormatError
        When its bytes are not of ``content_type``.
    TooCostlyError
        When its declared duration is over ``limits.max_seconds``.
    MediaError
        When FFmpeg cannot read it, or it has neither audio nor video.
    """
    try:
        with _opened(path, content_type) as container:
            audio = container.streams.audio
            video = container.streams.video
            created = container.metadata.get("creation_time")
            seconds = (container.duration or 0) / av.time_base
            result = Probe(
                output_rate(audio[0].rate) if audio and audio[0].rate else None,
                bool(video),
                _parse_creation(created),
            )
    except (FFmpegError, OSError) as exc:
        raise MediaError(_cannot("the upload as audio or video", exc)) from None
    if seconds > limits.max_seconds:
        raise _too_long(limits)
    if result.sample_rate is None and not result.has_video:
        msg = "the upload has neither an audio nor a video track"
        raise MediaError(msg)
    return result


def _too_long(limits: DecodeLimits) -> TooCostlyError:
    return TooCostlyError(
        f"the recording is longer than {limits.max_seconds:g} s "
        "(LOOM_UPLOAD_MAX_DECODED_SECONDS)"
    )


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


class _Budget:
    """Counts what a decoding pass has cost against its limits."""

    def __init__(self, path: Path, limits: DecodeLimits) -> None:
        self.limits = limits
        self.max_bytes = path.stat().st_size * limits.max_ratio
        self.deadline = time.monotonic() + limits.max_wall_seconds
        self.decoded = 0

    def spend(self, decoded_bytes: int = 0, at_seconds: float = 0.0) -> None:
        self.decoded += decoded_bytes
        if at_seconds > self.limits.max_seconds:
            raise _too_long(self.limits)
        if self.decoded > self.max_bytes:
            msg = (
                f"the recording decodes to more than {self.limits.max_ratio:g} times "
                "its size (LOOM_UPLOAD_MAX_DECODE_RATIO)"
            )
            raise TooCostlyError(msg)
        if time.monotonic() > self.deadline:
            msg = (
                f"decoding took longer than {self.limits.max_wall_seconds:g} s "
                "(LOOM_UPLOAD_DECODE_TIMEOUT_SECONDS)"
            )
            raise TooCostlyError(msg)


def decoded_pcm(
    path: Path, content_type: str, sample_rate: int, limits: DecodeLimits
) -> Iterator[bytes]:
    """Yield the audio track of ``path`` as PCM16 mono at ``sample_rate``.

    Raises
    ------
    WrongFormatError, TooCostlyError, MediaError
        As :func:`probe`; also when a bound of ``limits`` is passed while decoding.
    """
    resampler = av.AudioResampler(format="s16", layout="mono", rate=sample_rate)
    budget = _Budget(path, limits)
    samples = 0
    try:
        with _opened(path, content_type) as container:
            stream = container.streams.audio[0]
            for frame in container.decode(stream):
                for out in resampler.resample(frame):
                    samples += out.samples
                    budget.spend(out.samples * SAMPLE_BYTES, samples / sample_rate)
                    yield bytes(out.planes[0])[: out.samples * SAMPLE_BYTES]
            for out in resampler.resample(None):
                yield bytes(out.planes[0])[: out.samples * SAMPLE_BYTES]
    except (FFmpegError, OSError) as exc:
        raise MediaError(_cannot("the audio track", exc)) from None


def video_frames(
    path: Path,
    content_type: str,
    interval_s: float,
    max_side: int,
    limits: DecodeLimits,
) -> Iterator[tuple[float, bytes]]:
    """Yield ``(seconds from start, JPEG)`` for one frame every ``interval_s``.

    Frames are scaled to fit ``max_side`` pixels, so each fits a Kafka message.

    Raises
    ------
    WrongFormatError, TooCostlyError, MediaError
        As :func:`probe`; also when a bound of ``limits`` is passed while decoding.
    """
    budget = _Budget(path, limits)
    next_at = 0.0
    try:
        with _opened(path, content_type) as container:
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            context = stream.codec_context
            if context.width * context.height > MAX_FRAME_PIXELS:
                msg = f"video frames over {MAX_FRAME_PIXELS} pixels are refused"
                raise TooCostlyError(msg)
            start = stream.start_time * stream.time_base if stream.start_time else 0
            for frame in container.decode(stream):
                if frame.time is None:
                    continue
                at = float(frame.time - start)
                budget.spend(at_seconds=at)
                if at + 1e-6 < next_at:
                    continue
                image = frame.to_image()
                image.thumbnail((max_side, max_side))
                buffer = io.BytesIO()
                image.save(buffer, format="JPEG", quality=JPEG_QUALITY)
                yield at, buffer.getvalue()
                next_at = (math.floor(at / interval_s) + 1) * interval_s
    except (FFmpegError, OSError) as exc:
        raise MediaError(_cannot("the video track", exc)) from None
