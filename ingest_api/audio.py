"""Cutting PCM16 audio into ``AudioChunk`` events of a fixed length.

Used by the WebSocket stream and by completed uploads. A chunk's ``recorded_at``
is the time of its first sample (the stream's start plus the samples before it),
its id is derived from the stream and sequence number, so a resent chunk lands once.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from loom_core.contracts import AudioChunk, utc_now
from loom_core.contracts.ids import chunk_id

SAMPLE_BYTES = 2  # signed 16-bit
# JSON envelope of a chunk besides its base64 data, with room to spare.
ENVELOPE_BYTES = 2048


def chunk_bytes(sample_rate: int, chunk_seconds: float, max_message_bytes: int) -> int:
    """Return the size in bytes of a full chunk.

    That is ``chunk_seconds`` of audio in whole samples, but never so much that its
    base64 would not fit in one Kafka message.
    """
    wanted = round(sample_rate * chunk_seconds) * SAMPLE_BYTES
    fits = (max_message_bytes - ENVELOPE_BYTES) * 3 // 4
    return max(SAMPLE_BYTES, min(wanted, fits - fits % SAMPLE_BYTES))


class Chunker:
    """Collect PCM bytes as they come and hand out full chunks.

    Frames may split a sample across them; only :meth:`flush` insists on whole
    samples.
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[bytes]:
        """Add ``data``; return the chunks that are now complete."""
        self._buffer += data
        full = len(self._buffer) // self.size
        chunks = [
            bytes(self._buffer[i * self.size : (i + 1) * self.size])
            for i in range(full)
        ]
        del self._buffer[: full * self.size]
        return chunks

    def flush(self) -> bytes:
        """Return what is left (possibly empty).

        Raises
        ------
        ValueError
            When the audio ends in the middle of a sample.
        """
        if len(self._buffer) % SAMPLE_BYTES:
            msg = "the audio ends in the middle of a 16-bit sample (odd byte count)"
            raise ValueError(msg)
        rest = bytes(self._buffer)
        self._buffer.clear()
        return rest

    @property
    def pending(self) -> int:
        """Bytes waiting for the next chunk."""
        return len(self._buffer)


class ChunkSequence:
    """Turn consecutive PCM chunks of one recording into ``AudioChunk`` events.

    Parameters
    ----------
    device_id, stream_id
        Whose recording, and which (a WebSocket stream or an upload's file id).
    sample_rate
        Samples per second.
    started_at
        Time of the recording's first sample.
    sequence
        Number of the next chunk (a resumed stream continues its numbering).
    samples
        Samples before the next chunk (a resumed stream continues its timeline).
    """

    def __init__(
        self,
        device_id: str,
        stream_id: str,
        sample_rate: int,
        started_at: datetime,
        *,
        sequence: int = 0,
        samples: int = 0,
    ) -> None:
        self.device_id = device_id
        self.stream_id = stream_id
        self.sample_rate = sample_rate
        self.started_at = started_at
        self.sequence = sequence
        self.samples = samples

    def next_event(self, pcm: bytes) -> AudioChunk:
        """Return the event of the next chunk and advance past it."""
        event = AudioChunk(
            event_id=chunk_id(self.device_id, self.stream_id, self.sequence),
            device_id=self.device_id,
            recorded_at=self.started_at
            + timedelta(seconds=self.samples / self.sample_rate),
            received_at=utc_now(),
            sample_rate=self.sample_rate,
            stream_id=self.stream_id,
            sequence=self.sequence,
            data=pcm,
        )
        self.sequence += 1
        self.samples += len(pcm) // SAMPLE_BYTES
        return event
