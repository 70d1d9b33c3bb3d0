"""Audio chunks as they land (PCM16 mono at any rate) assembled into recordings."""

from __future__ import annotations

from dataclasses import dataclass, field
from math import gcd

import numpy as np
from numpy.typing import NDArray

SAMPLE_RATE = 16_000  # what the VAD and the speech models take
MAX_GAP_S = 0.25  # chunks further apart than this are separate recordings


@dataclass(frozen=True)
class ChunkInfo:
    """Where a landed audio chunk sits (a row of ``audio_chunks`` without its PCM).

    ``start`` is the epoch time of its first sample.
    """

    event_id: str
    start: float
    duration_s: float
    stream_id: str | None = None
    sequence: int = 0

    @property
    def end(self) -> float:
        """Epoch time just after its last sample."""
        return self.start + self.duration_s


@dataclass(frozen=True)
class Chunk:
    """A landed audio chunk with its PCM16 samples."""

    info: ChunkInfo
    sample_rate: int
    pcm: bytes


@dataclass
class Recording:
    """Contiguous audio of one stream, resampled to 16 kHz float32 in [-1, 1]."""

    stream_id: str | None
    start: float
    audio: NDArray[np.float32]
    chunk_ids: list[str] = field(default_factory=list)

    @property
    def end(self) -> float:
        """Epoch time just after the last sample."""
        return self.start + self.audio.size / SAMPLE_RATE


def pcm16_to_float(pcm: bytes) -> NDArray[np.float32]:
    """Decode little-endian signed 16-bit PCM to float32 in [-1, 1)."""
    return np.frombuffer(pcm, dtype="<i2").astype(np.float32) / 32768.0


def resample(
    audio: NDArray[np.float32], rate: int, target: int = SAMPLE_RATE
) -> NDArray:
    """Resample with a polyphase anti-aliasing filter (SciPy)."""
    if rate == target or audio.size == 0:
        return audio.astype(np.float32, copy=False)
    from scipy.signal import resample_poly  # noqa: PLC0415

    g = gcd(rate, target)
    return resample_poly(audio, target // g, rate // g).astype(np.float32)


def group(
    infos: list[ChunkInfo], max_gap_s: float = MAX_GAP_S
) -> list[list[ChunkInfo]]:
    """Group the chunks of each stream that follow each other into recordings.

    Chunks are ordered by time, then sequence; a chunk that starts more than
    ``max_gap_s`` after the previous one ends starts a new recording. Grouping needs
    only the chunks' times, so a run decides what to recompute before it reads any
    audio. Recordings are returned in time order.
    """
    streams: dict[str | None, list[ChunkInfo]] = {}
    for info in infos:
        streams.setdefault(info.stream_id, []).append(info)
    groups: list[list[ChunkInfo]] = []
    for members in streams.values():
        members.sort(key=lambda c: (c.start, c.sequence, c.event_id))
        current: list[ChunkInfo] = []
        cursor = 0.0
        for info in members:
            if current and info.start - cursor > max_gap_s:
                groups.append(current)
                current = []
            current.append(info)
            cursor = info.end if len(current) == 1 else max(cursor, info.end)
        groups.append(current)
    groups.sort(key=lambda g: (g[0].start, g[0].stream_id or ""))
    return groups


def join(chunks: list[Chunk]) -> Recording:
    """Decode a group of chunks into one 16 kHz recording.

    A gap between chunks is filled with silence so sample times stay true; an
    overlap is trusted to the chunk order (consecutive chunks' clocks drift by
    milliseconds).
    """
    first = chunks[0].info
    parts: list[NDArray[np.float32]] = []
    cursor = first.start
    for chunk in chunks:
        gap = chunk.info.start - cursor
        if gap > 0:
            parts.append(np.zeros(round(gap * SAMPLE_RATE), dtype=np.float32))
        audio = resample(pcm16_to_float(chunk.pcm), chunk.sample_rate)
        parts.append(audio)
        cursor = max(cursor, chunk.info.start) + audio.size / SAMPLE_RATE
    return Recording(
        first.stream_id,
        first.start,
        np.concatenate(parts),
        [c.info.event_id for c in chunks],
    )
