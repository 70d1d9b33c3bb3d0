"""Audio chunks as they land (PCM16 mono at any rate) assembled into recordings."""

from __future__ import annotations

from dataclasses import dataclass, field
from math import gcd

import numpy as np
from numpy.typing import NDArray

SAMPLE_RATE = 16_000  # what the VAD and the speech models take
MAX_GAP_S = 0.25  # chunks further apart than this are separate recordings


@dataclass(frozen=True)
class Chunk:
    """One landed audio chunk (a row of ``audio_chunks``).

    ``start`` is the epoch time of its first sample.
    """

    event_id: str
    start: float
    sample_rate: int
    pcm: bytes
    stream_id: str | None = None
    sequence: int = 0

    @property
    def duration_s(self) -> float:
        """Length in seconds."""
        return len(self.pcm) / 2 / self.sample_rate


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


def assemble(chunks: list[Chunk], max_gap_s: float = MAX_GAP_S) -> list[Recording]:
    """Join chunks of the same stream that follow each other into recordings.

    Chunks are ordered by time, then sequence. A chunk that starts more than
    ``max_gap_s`` after the previous one ends starts a new recording; a smaller gap
    is filled with silence so sample times stay true; an overlap is trusted to the
    chunk order (clocks of consecutive chunks drift by milliseconds).
    """
    streams: dict[str | None, list[Chunk]] = {}
    for chunk in chunks:
        streams.setdefault(chunk.stream_id, []).append(chunk)
    recordings: list[Recording] = []
    for stream_id, members in streams.items():
        members.sort(key=lambda c: (c.start, c.sequence))
        parts: list[NDArray[np.float32]] = []
        current: Recording | None = None
        cursor = 0.0
        for chunk in members:
            audio = resample(pcm16_to_float(chunk.pcm), chunk.sample_rate)
            gap = chunk.start - cursor
            if current is None or gap > max_gap_s:
                if current is not None:
                    current.audio = np.concatenate(parts)
                    recordings.append(current)
                current = Recording(stream_id, chunk.start, audio, [])
                parts = []
            elif gap > 0:
                parts.append(np.zeros(round(gap * SAMPLE_RATE), dtype=np.float32))
            parts.append(audio)
            current.chunk_ids.append(chunk.event_id)
            cursor = max(cursor, chunk.start + chunk.duration_s)
        if current is not None:
            current.audio = np.concatenate(parts)
            recordings.append(current)
    recordings.sort(key=lambda r: (r.start, r.stream_id or ""))
    return recordings
