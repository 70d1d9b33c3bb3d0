"""The raw event families: one pydantic model per ``device.*.raw`` topic.

Units are SI throughout (metres, metres per second, degrees, seconds); the ingress
converts app-specific units (km/h, knots, percent) before an event is built.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from loom_core.contracts.envelope import Base64Bytes, Contract, DeviceEvent

Fraction = Annotated[float, Field(ge=0.0, le=1.0)]
ImageType = Literal["image/jpeg", "image/png", "image/webp"]
Camera = Literal["front", "back"]


class GpsFix(DeviceEvent):
    """One position fix."""

    latitude: float = Field(ge=-90.0, le=90.0, description="WGS84 degrees")
    longitude: float = Field(ge=-180.0, le=180.0, description="WGS84 degrees")
    # The bounds keep every value physical and inside the 4-byte floats the table
    # stores: 1e300 m of altitude would otherwise be valid here and fail the row.
    accuracy_m: float | None = Field(
        default=None,
        ge=0.0,
        le=1e7,
        description="Horizontal accuracy radius, metres",
    )
    altitude_m: float | None = Field(
        default=None, ge=-2e4, le=1e6, description="Metres above sea"
    )
    speed_mps: float | None = Field(
        default=None, ge=0.0, le=1e3, description="Metres/second"
    )
    bearing_deg: float | None = Field(
        default=None, ge=0.0, le=360.0, description="Course over ground, degrees"
    )
    battery_level: Fraction | None = Field(
        default=None, description="Battery charge at the fix, 0-1"
    )
    source: str | None = Field(
        default=None,
        max_length=32,
        description="App that sent the fix (owntracks, overland, gpslogger, ...)",
    )


class AccelerometerSample(DeviceEvent):
    """Acceleration along the device axes, m/s² (gravity included)."""

    x: float
    y: float
    z: float


class HeartRate(DeviceEvent):
    """A heart-rate reading."""

    bpm: int = Field(ge=20, le=300, description="Beats per minute")
    confidence: Fraction | None = None


class Steps(DeviceEvent):
    """Steps counted over the interval that ends at ``recorded_at``."""

    count: int = Field(ge=0, le=100_000)
    interval_s: float = Field(gt=0.0, le=86_400.0, description="Interval length, s")


class PowerState(DeviceEvent):
    """Battery level and power source."""

    battery_level: Fraction
    charging: bool | None = None
    source: Literal["battery", "ac", "usb", "wireless"] | None = None


class AudioChunk(DeviceEvent):
    """A chunk of microphone audio: little-endian signed 16-bit PCM.

    ``recorded_at`` is the time of the first sample; ``stream_id`` and ``sequence``
    place the chunk in its recording (WebSocket stream or resumable upload).
    """

    encoding: Literal["pcm_s16le"] = "pcm_s16le"
    sample_rate: int = Field(ge=8_000, le=48_000)
    channels: Literal[1] = 1
    stream_id: str | None = Field(default=None, max_length=64)
    sequence: int = Field(default=0, ge=0, le=2**31 - 1)
    data: Base64Bytes = Field(description="Base64 of the raw PCM bytes")

    @model_validator(mode="after")
    def _whole_samples(self) -> AudioChunk:
        if len(self.data) % 2:
            msg = "data must hold whole 16-bit samples (an even number of bytes)"
            raise ValueError(msg)
        return self

    @property
    def duration_s(self) -> float:
        """Length of the chunk in seconds."""
        return len(self.data) / 2 / self.sample_rate


class FrameImage(Contract):
    """One encoded image of a camera frame."""

    camera: Camera | None = None
    content_type: ImageType = "image/jpeg"
    data: Base64Bytes = Field(description="Base64 of the encoded image")


class CameraFrame(DeviceEvent):
    """A camera frame; a front/back pair travels as one message.

    A client posts one image in ``images`` with an optional ``pair_id`` (and the
    ``camera`` of the image). The ingress holds the first of a pair until its mate
    comes, then produces one message with both images in ``images`` (earliest
    first) and ``pairing="paired"``; a frame whose mate never comes is produced
    alone with ``pairing="unpaired"``. Two images posted together are ``paired``.
    """

    images: list[FrameImage] = Field(min_length=1, max_length=2)
    pair_id: str | None = Field(default=None, max_length=64)
    pairing: Literal["single", "paired", "unpaired"] = "single"


class Screenshot(DeviceEvent):
    """A screenshot and what was on screen, if the device knows."""

    content_type: ImageType = "image/png"
    data: Base64Bytes = Field(description="Base64 of the encoded image")
    app: str | None = Field(default=None, max_length=128)
    window_title: str | None = Field(default=None, max_length=512)
