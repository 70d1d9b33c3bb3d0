"""Which model backends the enrichment assets use (``LOOM_*`` variables)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from loom_core.settings import REPO_ROOT


class EnrichmentSettings(BaseSettings):
    """Model backends and where production weights are.

    ``LOOM_SPEECH_BACKEND`` (``whisper-base`` | ``whisper-base-float32`` |
    ``whisper-tiny-en`` | ``parakeet``),
    ``LOOM_VISION_BACKEND`` (``embedded`` | ``moondream``), ``LOOM_MODELS_DIR``
    (``/models`` in containers) and ``LOOM_MODEL_THREADS`` (CPU threads per model).
    The backends' names and versions go into the assets' code versions, so
    switching a backend marks the partitions it did not compute as stale.
    """

    model_config = SettingsConfigDict(env_prefix="LOOM_", extra="ignore")

    speech_backend: str = Field(
        default="whisper-base",
        description="whisper-base | whisper-base-float32 | whisper-tiny-en | parakeet",
    )
    vision_backend: str = Field(default="embedded", description="embedded | moondream")
    models_dir: Path = Field(
        default=REPO_ROOT / "models",
        description="Production model weights; default <repo>/models",
    )
    model_threads: int = Field(default=2, ge=1, description="CPU threads per model")
