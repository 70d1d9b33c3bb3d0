"""transcripts on espeak-ng speech: the words, inside the speech; silence is nothing."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from loom_core import topics
from loom_dagster.defs.enrichment.assets.transcripts import build_transcripts
from loom_dagster.enrichment import samples, speech
from loom_dagster.enrichment.messages import Utterance
from tests.integration.enrichment.conftest import (
    DAY,
    assert_contract,
    check_results,
    materialize,
    metadata,
    rows,
)
from tests.integration.enrichment.landing import land_audio

START = datetime(DAY.year, DAY.month, DAY.day, 10, 0, tzinfo=UTC)
SENTENCES = [
    "The quick brown fox jumps over the lazy dog.",
    "Please call me back tomorrow morning.",
]
SLACK_S = 0.35  # VAD padding and espeak's own lead-in


@pytest.fixture(scope="module")
def spoken() -> samples.Speech:
    return samples.speech(SENTENCES, silence_s=2.5)


@pytest.fixture(scope="module")
def transcripts():
    return build_transcripts(speech.WHISPER)


def _words(text: str) -> set[str]:
    return {w.strip(".,!?").lower() for w in text.split()}


def test_speech_becomes_utterances_with_words_inside_the_speech(
    spoken, transcripts, db, instance, resources, device_id, tail
):
    land_audio(db, device_id, spoken.pcm, START)
    kafka = tail(topics.TRANSCRIBED_WORDS)

    result = materialize(transcripts, instance, resources, device_id)

    assert result.success
    stored = rows(db, "transcripts", device_id, "time")
    assert len(stored) == len(SENTENCES)
    for row, (sentence, s_start, s_end) in zip(stored, spoken.sentences):
        heard = _words(row["text"])
        assert len(heard & _words(sentence)) >= len(_words(sentence)) - 2, row["text"]
        start = START.timestamp() + s_start - SLACK_S
        end = START.timestamp() + s_end + SLACK_S
        assert start <= row["time"].timestamp() < row["end_time"].timestamp() <= end
        assert row["word_count"] == len(row["words"]) >= 5
        for word in row["words"]:
            assert row["time"].timestamp() - 1e-3 <= word["start"] <= word["end"]
            assert word["end"] <= row["end_time"].timestamp() + 1e-3
            assert 0.0 <= word["probability"] <= 1.0
        assert (row["model_name"], row["language"]) == (speech.WHISPER.model_name, "en")
        assert row["stream_id"] == "mic"
    assert {"fox", "dog"} <= _words(stored[0]["text"])
    assert {"tomorrow", "morning"} <= _words(stored[1]["text"])
    assert all(check_results(result).values()), check_results(result)
    meta = metadata(result)
    assert meta["utterances"] == 2
    assert meta["chunks_processed"] == meta["chunks"] == -(-spoken.pcm.size // 16_000)
    assert meta["model_name"] == speech.WHISPER.model_name
    messages = kafka.messages(device_id)
    assert_contract(Utterance, messages)
    assert [m["utterance_id"] for m in messages] == [
        str(r["utterance_id"]) for r in stored
    ]
    assert messages[0]["words"][0]["word"] == stored[0]["words"][0]["word"]


def test_silence_yields_no_utterance(db, instance, resources, device_id, transcripts):
    rng = np.random.default_rng(1)
    quiet = rng.normal(0, 30, 16_000 * 4).astype(np.int16)
    land_audio(db, device_id, quiet, START)

    result = materialize(transcripts, instance, resources, device_id)

    assert result.success
    assert rows(db, "transcripts", device_id, "time") == []
    assert metadata(result)["chunks_processed"] == 4
    assert check_results(result)["every_chunk_processed"]
