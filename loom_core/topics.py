"""The topic catalog: every Kafka topic Loom produces or consumes, in one place.

Names follow ``<category>.<source>.<datatype>.<stage>`` (``project-rules.md``).
Code refers to topics through the constants below, never through string literals;
``loom lint`` enforces that.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

TOPIC_NAME = re.compile(r"^[a-z]+(\.[a-z0-9_]+)+$")
# Poison messages wait for a person: a month.
DEAD_LETTER_RETENTION_HOURS = 720


class Stage(StrEnum):
    """Where a topic sits in the pipeline."""

    RAW = "raw"
    DEAD_LETTER = "dead_letter"
    ENRICHED = "enriched"


@dataclass(frozen=True)
class Topic:
    """One Kafka topic and how it is created.

    Parameters
    ----------
    name
        The topic name; must match :data:`TOPIC_NAME`.
    stage
        Raw device data, a dead-letter topic, or an enriched product.
    description
        What a message on the topic holds.
    partitions
        Partition count used when Loom creates the topic.
    compression
        Producer compression codec (``lz4`` for high-volume topics).
    retention_hours
        How long the broker keeps messages: landing must catch up within it.
    """

    name: str
    stage: Stage
    description: str
    partitions: int = 3
    compression: str = "lz4"
    retention_hours: int = 168

    def __post_init__(self) -> None:
        if not TOPIC_NAME.fullmatch(self.name):
            msg = f"topic {self.name!r} breaks the naming rule {TOPIC_NAME.pattern}"
            raise ValueError(msg)

    def __str__(self) -> str:
        return self.name

    def configs(self) -> dict[str, str]:
        """Return the topic-level broker configs Loom creates the topic with."""
        return {
            "compression.type": self.compression,
            "retention.ms": str(self.retention_hours * 3_600_000),
        }


def _raw(name: str, description: str) -> Topic:
    return Topic(name, Stage.RAW, description)


def _dead_letter(raw: Topic) -> Topic:
    """Return the dead-letter topic beside ``raw``: same hierarchy, stage ``dead_letter``."""
    name = raw.name.rsplit(".", 1)[0] + ".dead_letter"
    return Topic(
        name,
        Stage.DEAD_LETTER,
        f"Poison messages from {raw.name}",
        partitions=1,
        retention_hours=DEAD_LETTER_RETENTION_HOURS,
    )


GPS_RAW = _raw("device.sensor.gps.raw", "GPS fixes from phones and tracker apps")
ACCELEROMETER_RAW = _raw("device.sensor.accelerometer.raw", "Accelerometer samples")
HEARTRATE_RAW = _raw("device.health.heartrate.raw", "Heart-rate readings")
STEPS_RAW = _raw("device.health.steps.raw", "Step counts over an interval")
POWER_RAW = _raw("device.state.power.raw", "Battery level and charging state")
AUDIO_RAW = _raw("device.audio.microphone.raw", "Microphone audio chunks (PCM16)")
CAMERA_RAW = _raw("device.image.camera.raw", "Camera frames, single or paired")
SCREENSHOT_RAW = _raw("device.image.screenshot.raw", "Screenshots")

RAW_TOPICS: tuple[Topic, ...] = (
    GPS_RAW,
    ACCELEROMETER_RAW,
    HEARTRATE_RAW,
    STEPS_RAW,
    POWER_RAW,
    AUDIO_RAW,
    CAMERA_RAW,
    SCREENSHOT_RAW,
)

DEAD_LETTER_TOPICS: dict[str, Topic] = {t.name: _dead_letter(t) for t in RAW_TOPICS}

GPS_TRACK_SEGMENTS = Topic(
    "location.gps.track.segments",
    Stage.ENRICHED,
    "Stays and moves of a device-day, from the gps_tracks asset",
)
TRANSCRIBED_WORDS = Topic(
    "media.text.transcribed.words",
    Stage.ENRICHED,
    "Utterances with word timestamps, from the transcripts asset",
)
IMAGE_CAPTIONS = Topic(
    "media.image.captioned.frames",
    Stage.ENRICHED,
    "Captions, tags and OCR text of frames, from the captions asset",
)

# Frames the captions asset cannot decode (the raw row stays in its table).
DEAD_LETTER_TOPICS[IMAGE_CAPTIONS.name] = Topic(
    "media.image.captioned.dead_letter",
    Stage.DEAD_LETTER,
    "Frames and screenshots the captions asset could not decode, with the reason",
    partitions=1,
    retention_hours=DEAD_LETTER_RETENTION_HOURS,
)

ENRICHED_TOPICS: tuple[Topic, ...] = (
    GPS_TRACK_SEGMENTS,
    TRANSCRIBED_WORDS,
    IMAGE_CAPTIONS,
)

CATALOG: dict[str, Topic] = {
    t.name: t for t in (*RAW_TOPICS, *DEAD_LETTER_TOPICS.values(), *ENRICHED_TOPICS)
}


def dead_letter_for(raw: Topic | str) -> Topic:
    """Return the dead-letter topic that collects poison messages of ``raw``."""
    return DEAD_LETTER_TOPICS[str(raw)]
