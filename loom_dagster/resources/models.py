"""Model backends as resources: loaded once per process, chosen by configuration."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import dagster as dg

from loom_dagster.enrichment import speech, vad, vision, weights
from loom_dagster.enrichment.speech import BackendSpec


def _failure(exc: Exception) -> dg.Failure:
    """Wrap a missing-model error: the operator's to fix, one line, no traceback."""
    return dg.Failure(description=str(exc), allow_retries=False)


@cache
def _speech(key: str, models_dir: str, threads: int) -> speech.SpeechToText:
    return speech.load(key, Path(models_dir), threads=threads)


@cache
def _vision(key: str, models_dir: str, threads: int) -> vision.Describer:
    return vision.load(key, Path(models_dir), threads=threads)


@cache
def _vad() -> vad.SileroVad:
    return vad.SileroVad(threads=1)


class SpeechToTextResource(dg.ConfigurableResource):
    """Voice activity detection and a speech-to-text backend.

    Attributes
    ----------
    backend
        ``whisper-tiny-en`` (embedded, CPU) or ``parakeet`` (GPU, weights from
        ``models_dir``).
    models_dir
        Where production weights are (``/models`` in containers).
    threads
        CPU threads the model may use.
    """

    backend: str = speech.WHISPER.key
    models_dir: str = "models"
    threads: int = 2

    @property
    def spec(self) -> BackendSpec:
        """Name and version of the backend, without loading it."""
        return speech.spec(self.backend)

    def model(self) -> speech.SpeechToText:
        """Return the loaded backend (loaded on first use, then kept).

        Raises
        ------
        dagster.Failure
            Saying which weights or packages are missing and where they go.
        """
        try:
            return _speech(self.backend, self.models_dir, self.threads)
        except (weights.MissingWeightsError, weights.BackendUnavailableError) as exc:
            raise _failure(exc) from None

    def vad(self) -> vad.SileroVad:
        """Return the loaded Silero VAD."""
        return _vad()


class VisionResource(dg.ConfigurableResource):
    """An image description backend (caption, tags, OCR).

    Attributes
    ----------
    backend
        ``embedded`` (CPU, registry packages) or ``moondream`` (GPU, weights from
        ``models_dir``).
    models_dir
        Where production weights are (``/models`` in containers).
    threads
        CPU threads the models may use.
    """

    backend: str = vision.EMBEDDED.key
    models_dir: str = "models"
    threads: int = 2

    @property
    def spec(self) -> BackendSpec:
        """Name and version of the backend, without loading it."""
        return vision.spec(self.backend)

    def model(self) -> vision.Describer:
        """Return the loaded backend (loaded on first use, then kept).

        Raises
        ------
        dagster.Failure
            Saying which weights or packages are missing and where they go.
        """
        try:
            return _vision(self.backend, self.models_dir, self.threads)
        except (weights.MissingWeightsError, weights.BackendUnavailableError) as exc:
            raise _failure(exc) from None
