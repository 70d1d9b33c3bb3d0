"""The family registry: the one map from a family to its model, topic and table."""

from __future__ import annotations

from dataclasses import dataclass

from loom_core import topics
from loom_core.contracts import events
from loom_core.contracts.envelope import DeviceEvent


@dataclass(frozen=True)
class Family:
    """An event family: what a device posts, where it goes, where it lands.

    Parameters
    ----------
    name
        The family's slug in URLs and schema file names (``/v1/events/gps``).
    model
        The pydantic model of one event.
    topic
        The raw topic its events are produced to.
    table
        The TimescaleDB hypertable its events land in.
    """

    name: str
    model: type[DeviceEvent]
    topic: topics.Topic
    table: str


FAMILIES: dict[str, Family] = {
    f.name: f
    for f in (
        Family("gps", events.GpsFix, topics.GPS_RAW, "gps_data"),
        Family(
            "accelerometer",
            events.AccelerometerSample,
            topics.ACCELEROMETER_RAW,
            "accelerometer_data",
        ),
        Family("heartrate", events.HeartRate, topics.HEARTRATE_RAW, "heartrate_data"),
        Family("steps", events.Steps, topics.STEPS_RAW, "steps_data"),
        Family("power", events.PowerState, topics.POWER_RAW, "power_data"),
        Family("audio", events.AudioChunk, topics.AUDIO_RAW, "audio_chunks"),
        Family("camera", events.CameraFrame, topics.CAMERA_RAW, "camera_frames"),
        Family("screenshot", events.Screenshot, topics.SCREENSHOT_RAW, "screenshots"),
    )
}

BY_TOPIC: dict[str, Family] = {f.topic.name: f for f in FAMILIES.values()}
BY_MODEL: dict[type[DeviceEvent], Family] = {f.model: f for f in FAMILIES.values()}


def family(name: str) -> Family:
    """Return the family called ``name``.

    Raises
    ------
    KeyError
        With the list of known families, when ``name`` is not one of them.
    """
    try:
        return FAMILIES[name]
    except KeyError:
        known = ", ".join(sorted(FAMILIES))
        msg = f"unknown event family {name!r}; known families: {known}"
        raise KeyError(msg) from None
