"""Model backends as resources: loaded once per process, chosen by configuration."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import dagster as dg

from loom_dagster.enrichment import speech, vad, vision, weights
from loom_dagster.enrichment.weights import ModelSpec


@cache
def _load(kind: str, key: str, models_dir: str, threads: int) -> Any:
    loader: Callable[..., Any] = speech.load if kind == "speech" else vision.load
    return loader(key, Path(models_dir), threads=threads)


@cache
def _vad() -> vad.SileroVad:
    return vad.SileroVad(threads=1)


class _ModelResource(dg.ConfigurableResource):
    """A model backend chosen by name, with where its weights are and its threads."""

    backend: str
    models_dir: str = "models"
    threads: int = 2

    def _loaded(self, kind: str) -> Any:
        """Return the backend, loaded on first use and then kept.

        Raises
        ------
        dagster.Failure
            Saying which weights or packages are missing and where they go: the
            operator's to fix, in one line, without a traceback.
        """
        try:
            return _load(kind, self.backend, self.models_dir, self.threads)
        except (weights.MissingWeightsError, weights.BackendUnavailableError) as exc:
            raise dg.Failure(description=str(exc), allow_retries=False) from None


class SpeechToTextResource(_ModelResource):
    """Voice activity detection and a speech-to-text backend.

    Attributes
    ----------
    backend
        ``whisper-base`` (embedded, CPU; ``whisper-base-float32`` hears a little
        more for 2.4 times the CPU, ``whisper-tiny-en`` is the faster,
        less accurate previous default) or ``parakeet`` (GPU, weights from
        ``models_dir``).
    models_dir
        Where production weights are (``/models`` in containers).
    threads
        CPU threads the model may use.
    """

    backend: str = speech.WHISPER.key

    @property
    def spec(self) -> ModelSpec:
        """Name and version of the backend, without loading it."""
        return speech.spec(self.backend)

    def model(self) -> speech.SpeechToText:
        """Return the loaded backend (see ``_loaded`` for its failure)."""
        return self._loaded("speech")

    def vad(self) -> vad.SileroVad:
        """Return the loaded Silero VAD."""
        return _vad()


class VisionResource(_ModelResource):
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

    @property
    def spec(self) -> ModelSpec:
        """Name and version of the backend, without loading it."""
        return vision.spec(self.backend)

    def model(self) -> vision.Describer:
        """Return the loaded backend (see ``_loaded`` for its failure)."""
        return self._loaded("vision")
