"""Models loaded once per session, and generated speech shared by the tests."""

from __future__ import annotations

import pytest

from loom_dagster.enrichment import ocr, samples, speech, tagging, vad


@pytest.fixture(scope="session")
def silero() -> vad.SileroVad:
    return vad.SileroVad()


@pytest.fixture(scope="session")
def whisper() -> speech.FasterWhisper:
    return speech.FasterWhisper(speech.WHISPER, threads=2)


@pytest.fixture(scope="session")
def tagger() -> tagging.Tagger:
    return tagging.Tagger()


@pytest.fixture(scope="session")
def reader() -> ocr.TextReader:
    return ocr.TextReader()


@pytest.fixture(scope="session")
def spoken() -> samples.Speech:
    return samples.speech(
        ["Meet me at the station tomorrow.", "Bring the blue umbrella."], silence_s=2.0
    )
