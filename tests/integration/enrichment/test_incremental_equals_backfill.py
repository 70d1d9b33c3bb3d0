"""Landing runs -> sensors -> incremental runs leave exactly what a backfill leaves,
and a backfill republishes the same ids, so downstream ends with the same state."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import dagster as dg
import pytest

from loom_core import topics
from loom_dagster.defs.enrichment.assets.captions import build_captions
from loom_dagster.defs.enrichment.assets.transcripts import build_transcripts
from loom_dagster.defs.enrichment.definitions import build_definitions
from loom_dagster.enrichment import samples, speech, vision
from loom_dagster.enrichment.settings import EnrichmentSettings
from tests.integration.enrichment.conftest import DAY, metadata, rows
from tests.integration.enrichment.landing import land_audio, land_screenshot

ASSETS = {
    "transcripts": build_transcripts(speech.WHISPER),
    "captions": build_captions(vision.EMBEDDED),
}
START = datetime(DAY.year, DAY.month, DAY.day, 9, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def defs() -> dg.Definitions:
    return build_definitions(EnrichmentSettings())


class Pipeline:
    """Announces landings the way landing does and runs what the sensors ask for."""

    def __init__(self, defs: dg.Definitions, instance, resources, device: str) -> None:
        self.defs, self.instance, self.resources, self.device = (
            defs,
            instance,
            resources,
            device,
        )
        self.cursors: dict[str, str | None] = {}

    def landed(self, table: str) -> None:
        self.instance.report_runless_asset_event(
            dg.AssetMaterialization(
                asset_key=table,
                metadata={
                    "partitions_touched": dg.MetadataValue.json(
                        [{"day": DAY.isoformat(), "device": self.device}]
                    )
                },
            )
        )

    def tick(self, asset: str) -> list[dict[str, Any]]:
        """Evaluate the asset's sensor and execute its run requests; return metadata."""
        sensor = next(
            s for s in self.defs.sensors if s.name == f"{asset}_after_landing"
        )
        context = dg.build_sensor_context(
            instance=self.instance, cursor=self.cursors.get(asset)
        )
        result = sensor(context)
        self.cursors[asset] = result.cursor
        for request in result.dynamic_partitions_requests:
            self.instance.add_dynamic_partitions(
                request.partitions_def_name, list(request.partition_keys)
            )
        out = []
        for run in result.run_requests:
            executed = dg.materialize(
                [ASSETS[asset]],
                partition_key=run.partition_key,
                run_config=run.run_config,
                tags=run.tags,
                resources=self.resources,
                instance=self.instance,
            )
            out.append(metadata(executed))
        return out

    def backfill(self, asset: str) -> dict[str, Any]:
        executed = dg.materialize(
            [ASSETS[asset]],
            partition_key=dg.MultiPartitionKey(
                {"day": DAY.isoformat(), "device": self.device}
            ),
            resources=self.resources,
            instance=self.instance,
            tags={"dagster/backfill": "test"},
        )
        return metadata(executed)


def downstream_state(messages: list[dict], id_field: str) -> dict[str, dict]:
    """What a consumer that dedupes by id (upsert / delete) ends up with."""
    state: dict[str, dict] = {}
    for m in messages:
        if m["op"] == "delete":
            state.pop(m[id_field], None)
        else:
            state[m[id_field]] = m
    return state


def test_transcripts(defs, instance, resources, db, device_id, tail):
    spoken = samples.speech(
        [
            "The quick brown fox jumps over the lazy dog.",
            "Please call me back tomorrow.",
        ],
        silence_s=2.0,
    )
    kafka = tail(topics.TRANSCRIBED_WORDS)
    pipeline = Pipeline(defs, instance, resources, device_id)
    half = 16_000 * int(spoken.sentences[1][1] + 1)  # cut inside the 2nd sentence

    land_audio(db, device_id, spoken.pcm[:half], START)
    pipeline.landed("audio_chunks")
    (first,) = pipeline.tick("transcripts")
    land_audio(
        db,
        device_id,
        spoken.pcm[half:],
        START + timedelta(seconds=half / 16_000),
        first_sequence=half // 16_000,
    )
    pipeline.landed("audio_chunks")
    (second,) = pipeline.tick("transcripts")
    quiet = samples.speech([], lead_s=2.0).pcm
    land_audio(db, device_id, quiet, START + timedelta(minutes=5), stream_id="other")
    pipeline.landed("audio_chunks")
    (third,) = pipeline.tick("transcripts")
    assert pipeline.tick("transcripts") == []  # nothing landed: nothing to do

    assert first["mode"] == second["mode"] == "incremental"
    assert second["recordings_processed"] == 1  # the recording that grew, whole
    # the utterance cut by the landing boundary keeps its id (same start) and is
    # replaced by the whole sentence: an upsert downstream
    assert first["utterances"] == 2
    assert second["utterances"] == 2
    assert third["chunks_processed"] == 2  # only the new recording
    incremental = rows(db, "transcripts", device_id, "time")
    assert len(incremental) == 2

    full = pipeline.backfill("transcripts")

    assert full["mode"] == "full"
    assert full["chunks_processed"] == full["chunks"]
    assert rows(db, "transcripts", device_id, "time") == incremental
    messages = kafka.messages(device_id)
    state = downstream_state(messages, "utterance_id")
    assert set(state) == {str(r["utterance_id"]) for r in incremental}
    assert [state[str(r["utterance_id"])]["text"] for r in incremental] == [
        r["text"] for r in incremental
    ]


def test_captions(defs, instance, resources, db, device_id, tail):
    kafka = tail(topics.IMAGE_CAPTIONS)
    pipeline = Pipeline(defs, instance, resources, device_id)

    land_screenshot(db, device_id, START, samples.text_image("First"))
    pipeline.landed("screenshots")
    (first,) = pipeline.tick("captions")
    land_screenshot(
        db, device_id, START + timedelta(hours=1), samples.text_image("Second")
    )
    pipeline.landed("screenshots")
    (second,) = pipeline.tick("captions")

    assert first["frames_processed"] == second["frames_processed"] == 1
    incremental = rows(db, "captions", device_id, "time")
    assert [r["ocr_text"] for r in incremental] == ["First", "Second"]

    full = pipeline.backfill("captions")

    assert full["frames_processed"] == 2
    assert rows(db, "captions", device_id, "time") == incremental
    messages = kafka.messages(device_id)
    assert len(messages) == 4  # each frame once incrementally, once by the backfill
    state = downstream_state(messages, "source_event_id")
    assert set(state) == {str(r["source_event_id"]) for r in incremental}
