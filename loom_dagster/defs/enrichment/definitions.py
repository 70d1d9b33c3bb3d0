"""The enrichment domain as one ``Definitions``: assets, checks, sensors, models.

``loom_dagster.definitions`` merges it with the other domains and adds the
shared ``timescale`` and ``kafka`` resources. Model backends come from
``EnrichmentSettings`` (``LOOM_SPEECH_BACKEND``, ``LOOM_VISION_BACKEND``,
``LOOM_MODELS_DIR``, ``LOOM_MODEL_THREADS``); their names and versions are part
of the assets' code versions.
"""

from __future__ import annotations

import dagster as dg

from loom_dagster.defs.enrichment.asset_framework import IncrementalConfig
from loom_dagster.defs.enrichment.assets.captions import build_captions
from loom_dagster.defs.enrichment.assets.gps_tracks import gps_tracks
from loom_dagster.defs.enrichment.assets.transcripts import build_transcripts
from loom_dagster.defs.enrichment.sensors import build_enrichment_sensor
from loom_dagster.enrichment import speech, vision
from loom_dagster.enrichment.settings import EnrichmentSettings
from loom_dagster.resources.models import SpeechToTextResource, VisionResource
from loom_dagster.run_launcher import HEAVY_RUN_TAGS


def _incremental(asset: str) -> dict:
    return {
        "ops": {asset: {"config": IncrementalConfig(incremental=True).model_dump()}}
    }


def build_definitions(settings: EnrichmentSettings | None = None) -> dg.Definitions:
    """Return the enrichment definitions for the configured model backends."""
    settings = settings or EnrichmentSettings()
    speech_spec = speech.spec(settings.speech_backend)
    vision_spec = vision.spec(settings.vision_backend)
    models_dir = str(settings.models_dir)
    return dg.Definitions(
        assets=[
            gps_tracks,
            build_transcripts(speech_spec),
            build_captions(vision_spec),
        ],
        sensors=[
            build_enrichment_sensor("gps_tracks", ["gps_data"]),
            build_enrichment_sensor(
                "transcripts",
                ["audio_chunks"],
                _incremental("transcripts"),
                HEAVY_RUN_TAGS if speech_spec.gpu else None,
            ),
            build_enrichment_sensor(
                "captions",
                ["camera_frames", "screenshots"],
                _incremental("captions"),
                HEAVY_RUN_TAGS if vision_spec.gpu else None,
            ),
        ],
        resources={
            "speech": SpeechToTextResource(
                backend=speech_spec.key,
                models_dir=models_dir,
                threads=settings.model_threads,
            ),
            "vision": VisionResource(
                backend=vision_spec.key,
                models_dir=models_dir,
                threads=settings.model_threads,
            ),
        },
    )


defs = build_definitions()
