"""The enriched messages: one model per enriched table, also its row.

Each model's fields are the columns of its table (minus ``computed_at``), so a row
is ``model_dump()`` and the Kafka value is the same object with two more fields:
``schema_version`` and ``op``. Messages are keyed by ``device_id``.

How consumers deduplicate: a message's identity is its id field (``segment_id``,
``utterance_id``, ``source_event_id``), a UUIDv5 of the device, the day and the
source rows (for captions the source frame's own event id), so it is the same
every time a partition is recomputed from the same raw rows. Upsert by that id
(keep the last message per id, partition order is per device), and delete it on
``op = "delete"``: a recomputation that no longer yields a row (raw data deleted,
a new algorithm or model) says so explicitly. A backfill therefore republishes
the same ids and changes nothing downstream unless the rows changed.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict

SCHEMA_VERSION = 1


class EnrichedRow(BaseModel):
    """Fields every enriched row has."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, frozen=True)

    time: datetime
    device_id: str
    day: date

    def message(self, op: Literal["upsert"] = "upsert") -> dict[str, Any]:
        """Return the Kafka value of this row."""
        return {
            "schema_version": SCHEMA_VERSION,
            "op": op,
            **self.model_dump(mode="json"),
        }


class TrackSegment(EnrichedRow):
    """A stay or a move (table ``gps_tracks``)."""

    segment_id: UUID
    kind: Literal["stay", "move"]
    end_time: datetime
    duration_s: float
    point_count: int
    centroid_lat: float
    centroid_lon: float
    distance_m: float
    mean_speed_mps: float
    place_name: str | None
    place_admin: str | None
    place_country: str | None
    algorithm: str


class WordTiming(BaseModel):
    """A word of an utterance; times in UTC epoch seconds."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    word: str
    start: float
    end: float
    probability: float | None


class Utterance(EnrichedRow):
    """A stretch of speech and its words (table ``transcripts``)."""

    utterance_id: UUID
    end_time: datetime
    stream_id: str | None
    text: str
    words: list[WordTiming]
    word_count: int
    language: str | None
    model_name: str
    model_version: str


class Caption(EnrichedRow):
    """What was seen in a camera frame or screenshot (table ``captions``)."""

    source_event_id: UUID
    source: Literal["camera", "screenshot"]
    caption: str | None
    tags: list[str]
    tag_scores: list[float]
    ocr_text: str
    model_name: str
    model_version: str


def deletion(row_id: str, id_field: str, device_id: str, day: date) -> dict[str, Any]:
    """Return the Kafka value saying that row ``row_id`` no longer exists."""
    return {
        "schema_version": SCHEMA_VERSION,
        "op": "delete",
        id_field: row_id,
        "device_id": device_id,
        "day": day.isoformat(),
    }
