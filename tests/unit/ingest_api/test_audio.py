from datetime import UTC, datetime, timedelta

import pytest

from ingest_api.audio import Chunker, ChunkSequence, chunk_bytes
from loom_core.contracts.ids import chunk_id

T0 = datetime(2024, 5, 1, 12, tzinfo=UTC)


def test_chunk_bytes_is_whole_samples_of_the_wanted_length():
    assert chunk_bytes(16_000, 5.0, 4_000_000) == 160_000
    assert chunk_bytes(8_000, 0.5, 4_000_000) == 8_000
    assert chunk_bytes(44_100, 0.01, 4_000_000) % 2 == 0


def test_chunk_bytes_fits_one_kafka_message_as_base64():
    size = chunk_bytes(48_000, 60.0, 1_000_000)
    assert size % 2 == 0
    assert size * 4 / 3 + 2048 <= 1_000_000
    assert size < 48_000 * 60 * 2


def test_chunker_cuts_frames_that_split_samples_and_chunks():
    chunker = Chunker(6)
    assert chunker.feed(b"\x01\x02\x03") == []
    assert chunker.feed(b"\x04\x05\x06\x07") == [b"\x01\x02\x03\x04\x05\x06"]
    assert chunker.pending == 1
    assert chunker.feed(b"\x08" * 13) == [b"\x07" + b"\x08" * 5, b"\x08" * 6]
    assert chunker.flush() == b"\x08" * 2
    assert chunker.flush() == b""


def test_chunker_refuses_to_end_inside_a_sample():
    chunker = Chunker(4)
    chunker.feed(b"\x00\x01\x02")
    with pytest.raises(ValueError, match="middle of a 16-bit sample"):
        chunker.flush()


def test_chunk_sequence_times_each_chunk_by_the_samples_before_it():
    sequence = ChunkSequence("mic", "s1", 16_000, T0)
    first = sequence.next_event(b"\x00\x00" * 16_000)
    second = sequence.next_event(b"\x00\x00" * 8_000)
    third = sequence.next_event(b"\x00\x00" * 10)
    assert [c.sequence for c in (first, second, third)] == [0, 1, 2]
    assert first.recorded_at == T0
    assert second.recorded_at == T0 + timedelta(seconds=1)
    assert third.recorded_at == T0 + timedelta(seconds=1.5)
    assert {c.stream_id for c in (first, second, third)} == {"s1"}
    assert first.event_id == chunk_id("mic", "s1", 0)
    assert second.duration_s == pytest.approx(0.5)


def test_a_resumed_sequence_continues_numbering_and_timeline():
    resumed = ChunkSequence("mic", "s1", 16_000, T0, sequence=3, samples=48_000)
    chunk = resumed.next_event(b"\x00\x00" * 4)
    assert chunk.sequence == 3
    assert chunk.recorded_at == T0 + timedelta(seconds=3)
    assert chunk.event_id == chunk_id("mic", "s1", 3)
