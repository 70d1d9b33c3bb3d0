"""Raw rows written the way landing writes them (legitimate test data)."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import numpy as np
import psycopg

from loom_dagster.enrichment.samples import SAMPLE_RATE


def land_audio(
    db: psycopg.Connection,
    device: str,
    pcm: np.ndarray,
    start: datetime,
    *,
    stream_id: str | None = "mic",
    chunk_s: float = 1.0,
    first_sequence: int = 0,
) -> list[str]:
    """Cut 16 kHz PCM16 into chunks and insert them into audio_chunks; return ids."""
    step = round(chunk_s * SAMPLE_RATE)
    ids = []
    with db.cursor() as cur:
        for k, offset in enumerate(range(0, pcm.size, step)):
            piece = pcm[offset : offset + step]
            event_id = uuid.uuid4()
            ids.append(str(event_id))
            cur.execute(
                "INSERT INTO audio_chunks (time, device_id, event_id, received_at,"
                " encoding, sample_rate, channels, stream_id, sequence, duration_s, pcm)"
                " VALUES (%s, %s, %s, now(), 'pcm_s16le', %s, 1, %s, %s, %s, %s)",
                (
                    start + timedelta(seconds=offset / SAMPLE_RATE),
                    device,
                    event_id,
                    SAMPLE_RATE,
                    stream_id,
                    first_sequence + k,
                    piece.size / SAMPLE_RATE,
                    piece.astype("<i2").tobytes(),
                ),
            )
    return ids


def land_screenshot(
    db: psycopg.Connection, device: str, time: datetime, image: bytes
) -> str:
    """Insert a screenshot; return its event id."""
    event_id = uuid.uuid4()
    db.execute(
        "INSERT INTO screenshots (time, device_id, event_id, received_at, content_type,"
        " image) VALUES (%s, %s, %s, now(), 'image/png', %s)",
        (time, device, event_id, image),
    )
    return str(event_id)


def land_camera(
    db: psycopg.Connection,
    device: str,
    time: datetime,
    image: bytes,
    mate: bytes | None = None,
) -> str:
    """Insert a camera frame (a front/back pair when ``mate`` is given)."""
    event_id = uuid.uuid4()
    db.execute(
        "INSERT INTO camera_frames (time, device_id, event_id, received_at, pair_id,"
        " pairing, camera, content_type, image, mate_camera, mate_content_type,"
        " mate_image) VALUES (%s, %s, %s, now(), %s, %s, %s, 'image/jpeg', %s, %s,"
        " %s, %s)",
        (
            time,
            device,
            event_id,
            "pair-1" if mate else None,
            "paired" if mate else "single",
            "back" if mate else None,
            image,
            "front" if mate else None,
            "image/png" if mate else None,
            mate,
        ),
    )
    return str(event_id)
