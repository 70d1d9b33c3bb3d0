"""Event contracts: the pydantic models of every raw event and their JSON Schemas."""

from loom_core.contracts.envelope import SCHEMA_VERSION, DeviceEvent, utc_now
from loom_core.contracts.events import (
    AccelerometerSample,
    AudioChunk,
    CameraFrame,
    FrameImage,
    GpsFix,
    HeartRate,
    PowerState,
    Screenshot,
    Steps,
)
from loom_core.contracts.families import BY_TOPIC, FAMILIES, Family, family

__all__ = [
    "BY_TOPIC",
    "FAMILIES",
    "SCHEMA_VERSION",
    "AccelerometerSample",
    "AudioChunk",
    "CameraFrame",
    "DeviceEvent",
    "Family",
    "FrameImage",
    "GpsFix",
    "HeartRate",
    "PowerState",
    "Screenshot",
    "Steps",
    "family",
    "utc_now",
]
