"""``captions``: caption, tags and OCR text of every camera frame and screenshot.

Frames are independent, so an incremental run describes only the frames of the
partition it has not processed (``enrichment_sources``) and a backfill describes
them all; both leave the same rows. A paired capture is one frame. An image that
cannot be decoded goes to the dead-letter topic with the reason (the raw row
stays in its table) and is recorded as dead-lettered, and so is a frame the
models fail on (a poison image must not block its partition forever), so every frame ends up
captioned or dead-lettered, which a blocking check verifies.
"""

import time as clock
from dataclasses import dataclass
from datetime import datetime

import dagster as dg
from psycopg import sql

from loom_core import topics
from loom_dagster.defs.enrichment import asset_framework
from loom_dagster.enrichment import store
from loom_dagster.enrichment.messages import SCHEMA_VERSION, Caption
from loom_dagster.enrichment.vision import (
    Describer,
    ImageDecodeError,
    decode,
    describe_frame,
)
from loom_dagster.enrichment.weights import ModelSpec
from loom_dagster.resources import KafkaResource, TimescaleResource
from loom_dagster.resources.models import VisionResource

ASSET = "captions"
ID = "source_event_id"
ALGORITHM = "describe-frames-v1"
DEAD_LETTER = topics.dead_letter_for(topics.IMAGE_CAPTIONS)

# The frames of both raw tables; with %(incremental)s only those not yet in
# enrichment_sources. Images are then read one frame at a time (a primary-key
# lookup), so a day of frames never sits in memory and no snapshot is held while
# the models run.
LIST_FRAMES = """
SELECT * FROM (
    SELECT 'camera' AS source, event_id, time FROM camera_frames
    WHERE device_id = %(device)s AND time >= %(start)s AND time < %(end)s
    UNION ALL
    SELECT 'screenshot', event_id, time FROM screenshots
    WHERE device_id = %(device)s AND time >= %(start)s AND time < %(end)s
) f
WHERE NOT (%(incremental)s AND EXISTS (
    SELECT 1 FROM enrichment_sources s
    WHERE s.asset = 'captions' AND s.device_id = %(device)s AND s.day = %(day)s
    AND s.source_event_id = f.event_id))
ORDER BY time, event_id
"""
READ_IMAGES = {
    "camera": "SELECT camera, image, mate_camera, mate_image FROM camera_frames"
    " WHERE time = %s AND device_id = %s AND event_id = %s",
    "screenshot": "SELECT NULL, image, NULL, NULL FROM screenshots"
    " WHERE time = %s AND device_id = %s AND event_id = %s",
}

CHECKS = {
    "every_frame_captioned_or_dead_lettered": (
        "Every camera frame and screenshot landed before the run has a caption row "
        "or a dead-letter record."
    ),
    "tags_have_scores": "Each tag has one score, between 0 and 1.",
}
CHECK_QUERIES = {
    "every_frame_captioned_or_dead_lettered": """
        SELECT count(*) FROM (
            SELECT event_id, time FROM camera_frames
            WHERE device_id = %(device)s AND time >= %(start)s AND time < %(end)s
            AND landed_at < %(as_of)s
            UNION ALL
            SELECT event_id, time FROM screenshots
            WHERE device_id = %(device)s AND time >= %(start)s AND time < %(end)s
            AND landed_at < %(as_of)s
        ) f
        WHERE NOT EXISTS (
            SELECT 1 FROM captions c WHERE c.device_id = %(device)s
            AND c.day = %(day)s AND c.source_event_id = f.event_id)
        AND NOT EXISTS (
            SELECT 1 FROM enrichment_sources s WHERE s.asset = 'captions'
            AND s.device_id = %(device)s AND s.day = %(day)s
            AND s.source_event_id = f.event_id AND s.outcome = 'dead_letter')
    """,
    "tags_have_scores": """
        SELECT count(*) FROM captions WHERE device_id = %(device)s AND day = %(day)s
        AND (cardinality(tags) <> cardinality(tag_scores)
             OR EXISTS (SELECT 1 FROM unnest(tag_scores) s WHERE s < 0 OR s > 1))
    """,
}
TABLE = asset_framework.EnrichedTable(ASSET, ID, CHECK_QUERIES, topics.IMAGE_CAPTIONS)


@dataclass(frozen=True)
class DeadLetter:
    """An image of a frame that could not be decoded."""

    source: str
    source_event_id: str
    time: datetime
    image: str  # "image" or "mate_image"
    reason: str

    def message(self, partition: store.DeviceDay) -> dict:
        """Return the dead-letter Kafka value."""
        table = "camera_frames" if self.source == "camera" else "screenshots"
        return {
            "schema_version": SCHEMA_VERSION,
            "device_id": partition.device_id,
            "day": partition.day.isoformat(),
            "source": self.source,
            "table": table,
            "source_event_id": self.source_event_id,
            "time": self.time.isoformat(),
            "image": self.image,
            "reason": self.reason,
        }


def describe_row(
    partition: store.DeviceDay,
    row: tuple,
    describer: Describer,
) -> tuple[Caption | None, list[DeadLetter]]:
    """Describe one frame row; return its caption (None if nothing decoded) and failures."""
    source, event_id, time, camera, image, mate_camera, mate_image = row
    decoded, failed = [], []
    for field, cam, data in (
        ("image", camera, image),
        ("mate_image", mate_camera, mate_image),
    ):
        if data is None:
            continue
        try:
            decoded.append((cam, decode(bytes(data))))
        except ImageDecodeError as exc:
            failed.append(DeadLetter(source, str(event_id), time, field, str(exc)))
    if not decoded:
        return None, failed
    try:
        seen = describe_frame(describer, decoded)
    except Exception as exc:  # noqa: BLE001 - one poison image must not block the day
        reason = f"the models cannot describe it: {type(exc).__name__}: {exc}"
        return None, [*failed, DeadLetter(source, str(event_id), time, "image", reason)]
    caption = Caption(
        time=time,
        device_id=partition.device_id,
        day=partition.day,
        source_event_id=event_id,
        source=source,
        caption=seen.caption,
        tags=[t.label for t in seen.tags],
        tag_scores=[t.score for t in seen.tags],
        ocr_text=seen.ocr_text,
        model_name=describer.spec.model_name,
        model_version=describer.spec.model_version,
    )
    return caption, failed


def build_captions(spec: ModelSpec) -> dg.AssetsDefinition:
    """Return the ``captions`` asset for the vision backend ``spec``."""

    @asset_framework.enrichment_asset(
        TABLE,
        deps=["camera_frames", "screenshots"],
        checks=CHECKS,
        algorithm=ALGORITHM,
        pod=("2000m", "4096Mi"),
        model=spec,
        description=(
            "Caption, tags and OCR text of each camera frame (pairs as one) and "
            f"screenshot ({spec.model_name}); republished to {topics.IMAGE_CAPTIONS}, "
            f"undecodable images to {DEAD_LETTER}."
        ),
    )
    def captions(
        context: dg.AssetExecutionContext,
        config: asset_framework.IncrementalConfig,
        timescale: TimescaleResource,
        kafka: KafkaResource,
        vision: VisionResource,
    ) -> dg.MaterializeResult:
        partition = asset_framework.device_day(context)
        params = {
            "device": partition.device_id,
            "day": partition.day,
            "start": partition.start,
            "end": partition.end,
            "incremental": config.incremental,
        }
        describer = vision.model()
        rows: list[Caption] = []
        dead: list[DeadLetter] = []
        outcomes: list[tuple[str, str, str | None]] = []
        started = clock.perf_counter()
        with timescale.connect(autocommit=True) as read:
            as_of = asset_framework.listed_at(read)
            for source, event_id, time in read.execute(LIST_FRAMES, params).fetchall():
                images = read.execute(
                    READ_IMAGES[source], (time, partition.device_id, event_id)
                ).fetchone()
                if images is None:  # deleted since it was listed
                    continue
                row = (source, event_id, time, *images)
                caption, failed = describe_row(partition, row, describer)
                dead += failed
                if caption is not None:
                    rows.append(caption)
                    outcomes.append((str(event_id), "done", None))
                else:
                    reasons = "; ".join(f.reason for f in failed)
                    outcomes.append((str(event_id), "dead_letter", reasons))
            compute_s = clock.perf_counter() - started
            incremental = config.incremental
            written = asset_framework.commit_and_publish(
                context,
                read,
                kafka,
                TABLE,
                partition=partition,
                rows=rows,
                scope=(
                    sql.SQL("source_event_id = ANY(%s::uuid[])")
                    if incremental
                    else None
                ),
                scope_params=[[e for e, _, _ in outcomes]] if incremental else [],
                as_of=as_of,
                sources=outcomes,
                incremental=incremental,
            )
        if dead and written.committed:  # after the commit, like every message
            messages = [d.message(partition) for d in dead]
            asset_framework.republish_or_fail(kafka, str(DEAD_LETTER), messages)
        return dg.MaterializeResult(
            metadata={
                "mode": "incremental" if config.incremental else "full",
                "frames_processed": len(outcomes),
                "captioned": len(rows),
                "dead_lettered": sum(o == "dead_letter" for _, o, _ in outcomes),
                "images_dead_lettered": len(dead),
                "frames_per_second": (
                    round(len(outcomes) / compute_s, 3) if compute_s > 0 else 0.0
                ),
                "model_name": spec.model_name,
                "model_version": spec.model_version,
                **written.metadata(),
                "deleted_captions": len(written.vanished),
            },
            check_results=written.checks,
            data_version=written.data_version,
        )

    return captions
