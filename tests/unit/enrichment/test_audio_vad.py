from __future__ import annotations

import numpy as np
import pytest

from loom_dagster.enrichment import audio, vad
from loom_dagster.enrichment.audio import Chunk, ChunkInfo

SR = audio.SAMPLE_RATE


def info(event_id, start, duration=1.0, stream="s", sequence=0):
    return ChunkInfo(event_id, start, duration, stream, sequence)


def test_pcm16_decodes_little_endian_to_unit_range():
    pcm = np.array([0, 16384, -32768, 32767], dtype="<i2").tobytes()
    assert audio.pcm16_to_float(pcm).tolist() == pytest.approx(
        [0, 0.5, -1, 0.99997], abs=1e-4
    )


@pytest.mark.parametrize("rate", [8_000, 22_050, 44_100, 48_000])
def test_resampling_keeps_the_duration_and_the_tone(rate):
    t = np.arange(rate) / rate
    tone = np.sin(2 * np.pi * 440 * t).astype(np.float32)
    out = audio.resample(tone, rate)
    assert out.size == SR
    spectrum = np.abs(np.fft.rfft(out))
    assert np.argmax(spectrum) == pytest.approx(440, abs=1)


def test_resampling_16k_is_the_identity():
    x = np.ones(10, dtype=np.float32)
    assert audio.resample(x, SR) is x


def test_chunks_group_by_stream_and_contiguity_in_time_order():
    infos = [
        info("b2", 101.0, sequence=1),
        info("b1", 100.0, sequence=0),
        info("b3", 103.0, sequence=2),  # 2 s gap: a new recording
        info("m1", 100.5, stream=None),
        info("b0", 100.0, sequence=0, duration=0.0),
    ]
    groups = audio.group(infos)
    assert [[c.event_id for c in g] for g in groups] == [
        ["b0", "b1", "b2"],
        ["m1"],
        ["b3"],
    ]
    assert audio.group([]) == []


def test_a_small_gap_is_filled_with_silence_and_times_stay_true():
    one = np.full(SR // 2, 1000, dtype="<i2").tobytes()
    chunks = [
        Chunk(info("a", 10.0, 0.5), SR, one),
        Chunk(info("b", 10.6, 0.5), SR, one),  # 0.1 s gap
    ]
    recording = audio.join(chunks)
    assert recording.start == 10.0
    assert recording.end == pytest.approx(11.1)
    assert recording.chunk_ids == ["a", "b"]
    gap = recording.audio[SR // 2 : SR // 2 + SR // 10]
    assert not gap.any()


def test_chunks_at_other_rates_are_resampled_when_joined():
    pcm = np.zeros(48_000, dtype="<i2").tobytes()
    recording = audio.join([Chunk(info("a", 0.0), 48_000, pcm)])
    assert recording.audio.size == SR


def window(*probs):
    return np.array(probs, dtype=np.float32)


W = vad.WINDOW / SR  # 32 ms


def test_no_speech_means_no_segment():
    assert vad.speech_segments(window(), 0.0) == []
    assert vad.speech_segments(window(*[0.1] * 100), 3.2) == []


def test_hysteresis_keeps_speech_until_the_score_falls_below_the_lower_threshold():
    probs = [0.0] * 10 + [0.9] * 20 + [0.4] * 5 + [0.1] * 40
    params = vad.VadParams(pad_s=0.0)
    ((start, end),) = vad.speech_segments(window(*probs), len(probs) * W, params)
    assert start == pytest.approx(10 * W)
    assert end == pytest.approx(35 * W)


def test_short_bursts_are_dropped_and_short_pauses_merged():
    burst = [0.0] * 10 + [0.9] * 3 + [0.0] * 40  # 96 ms: a click
    assert vad.speech_segments(window(*burst), 53 * W) == []
    talk = [0.9] * 20 + [0.0] * 5 + [0.9] * 20 + [0.0] * 40  # 160 ms pause
    assert len(vad.speech_segments(window(*talk), 85 * W)) == 1


def test_padding_is_clipped_to_the_recording_and_never_overlaps():
    probs = [0.9] * 20 + [0.0] * 20 + [0.9] * 20
    params = vad.VadParams(min_silence_s=0.1, pad_s=0.5)
    segments = vad.speech_segments(window(*probs), 60 * W, params)
    assert segments[0][0] == 0.0
    assert segments[-1][1] == pytest.approx(60 * W)
    assert segments[0][1] <= segments[1][0]


def test_silero_finds_each_sentence_and_nothing_in_the_silences(silero, spoken):
    pcm = audio.pcm16_to_float(spoken.pcm.tobytes())
    segments = vad.speech_segments(silero.probabilities(pcm), spoken.duration_s)
    assert len(segments) == len(spoken.sentences)
    for (start, end), (_, s_start, s_end) in zip(segments, spoken.sentences):
        assert s_start - 0.2 <= start < end <= s_end + 0.2
        assert end - start >= 0.6 * (s_end - s_start)


def test_silero_on_room_noise_finds_nothing(silero):
    noise = np.random.default_rng(0).normal(0, 0.001, SR * 3).astype(np.float32)
    assert vad.speech_segments(silero.probabilities(noise), 3.0) == []
    assert silero.probabilities(np.zeros(0, dtype=np.float32)).size == 0
