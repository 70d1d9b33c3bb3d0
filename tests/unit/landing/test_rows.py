import uuid
from datetime import UTC, datetime

import pytest

from loom_core.contracts import (
    FAMILIES,
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
from loom_dagster.landing.rows import LAYOUTS

AT = datetime(2024, 5, 1, 8, 0, tzinfo=UTC)


def test_every_family_has_a_layout_with_one_type_per_column():
    assert set(LAYOUTS) == set(FAMILIES)
    for layout in LAYOUTS.values():
        assert len(layout.columns) == len(layout.types)
        assert layout.columns[:4] == ["time", "device_id", "event_id", "received_at"]
        assert layout.columns[-2:] == ["kafka_partition", "kafka_offset"]
        assert "landed_at" not in layout.columns


def test_gps_row_in_column_order():
    fix = GpsFix(
        device_id="p",
        recorded_at=AT,
        received_at=AT,
        latitude=1.5,
        longitude=2.5,
        accuracy_m=3.0,
        source="owntracks",
    )
    row = LAYOUTS["gps"].row(fix, 2, 99)
    named = dict(zip(LAYOUTS["gps"].columns, row))
    assert named["time"] == AT
    assert named["event_id"] == fix.event_id
    assert named["latitude"] == 1.5
    assert named["accuracy_m"] == 3.0
    assert named["speed_mps"] is None
    assert named["source"] == "owntracks"
    assert (named["kafka_partition"], named["kafka_offset"]) == (2, 99)


def test_camera_pair_puts_the_mate_in_mate_columns():
    frame = CameraFrame(
        device_id="c",
        recorded_at=AT,
        images=[
            FrameImage(camera="front", data=b"F"),
            FrameImage(camera="back", content_type="image/png", data=b"B"),
        ],
        pair_id="p1",
        pairing="paired",
    )
    named = dict(zip(LAYOUTS["camera"].columns, LAYOUTS["camera"].row(frame, 0, 1)))
    assert (named["camera"], named["image"]) == ("front", b"F")
    assert (named["mate_camera"], named["mate_content_type"], named["mate_image"]) == (
        "back",
        "image/png",
        b"B",
    )
    assert named["pairing"] == "paired"


def test_single_camera_frame_has_no_mate():
    frame = CameraFrame(device_id="c", recorded_at=AT, images=[FrameImage(data=b"F")])
    named = dict(zip(LAYOUTS["camera"].columns, LAYOUTS["camera"].row(frame, 0, 1)))
    assert named["mate_image"] is None
    assert named["mate_camera"] is None


def test_audio_row_keeps_pcm_and_duration():
    chunk = AudioChunk(
        device_id="m", recorded_at=AT, sample_rate=8000, data=b"\0" * 16000
    )
    named = dict(zip(LAYOUTS["audio"].columns, LAYOUTS["audio"].row(chunk, 0, 1)))
    assert named["pcm"] == b"\0" * 16000
    assert named["duration_s"] == 1.0
    assert named["encoding"] == "pcm_s16le"


def test_screenshot_row():
    shot = Screenshot(device_id="s", recorded_at=AT, data=b"PNG", app="term")
    named = dict(
        zip(LAYOUTS["screenshot"].columns, LAYOUTS["screenshot"].row(shot, 0, 1))
    )
    assert (named["image"], named["app"], named["window_title"]) == (
        b"PNG",
        "term",
        None,
    )
    assert isinstance(named["event_id"], uuid.UUID)


@pytest.mark.parametrize(
    ("family", "event", "expected"),
    [
        (
            "accelerometer",
            AccelerometerSample(device_id="a", recorded_at=AT, x=0.5, y=-1.0, z=9.81),
            {"x": 0.5, "y": -1.0, "z": 9.81},
        ),
        (
            "heartrate",
            HeartRate(device_id="h", recorded_at=AT, bpm=61),
            {"bpm": 61, "confidence": None},
        ),
        (
            "steps",
            Steps(device_id="s", recorded_at=AT, count=12, interval_s=60.0),
            {"count": 12, "interval_s": 60.0},
        ),
        (
            "power",
            PowerState(device_id="p", recorded_at=AT, battery_level=0.4, charging=True),
            {"battery_level": 0.4, "charging": True, "source": None},
        ),
    ],
)
def test_plain_families_fill_each_column_from_the_same_named_field(
    family, event, expected
):
    layout = LAYOUTS[family]
    row = layout.row(event, 3, 7)
    assert len(row) == len(layout.columns)
    named = dict(zip(layout.columns, row))
    assert named == {
        "time": AT,
        "device_id": event.device_id,
        "event_id": event.event_id,
        "received_at": event.received_at,
        **expected,
        "kafka_partition": 3,
        "kafka_offset": 7,
    }


# What each column type holds; a contract value outside it could never be written,
# so its message would fail its landing run on every retry instead of going to the
# dead-letter topic.
COLUMN_RANGES = {
    "float4": (-3.4e38, 3.4e38),
    "int2": (-(2**15), 2**15 - 1),
    "int4": (-(2**31), 2**31 - 1),
}


def _bounds(schema: dict) -> tuple[float | None, float | None]:
    """A property's bounds in the model's JSON Schema (``anyOf`` for optionals)."""
    for option in schema.get("anyOf", [schema]):
        if "enum" in option or "const" in option:
            values = option.get("enum", [option.get("const")])
            return min(values), max(values)
        low = option.get("minimum", option.get("exclusiveMinimum"))
        high = option.get("maximum", option.get("exclusiveMaximum"))
        if low is not None or high is not None:
            return low, high
    return None, None


@pytest.mark.parametrize("name", sorted(LAYOUTS))
def test_every_narrow_column_has_contract_bounds_that_fit_it(name):
    properties = FAMILIES[name].model.model_json_schema()["properties"]
    for column, kind in LAYOUTS[name].fields:
        if kind not in COLUMN_RANGES or column not in properties:
            continue  # wide types, and values derived from others (duration_s)
        low, high = _bounds(properties[column])
        smallest, largest = COLUMN_RANGES[kind]
        assert low is not None, f"{name}.{column} has no lower bound"
        assert high is not None, f"{name}.{column} has no upper bound"
        assert smallest <= low, f"{name}.{column} can underflow {kind}"
        assert high <= largest, f"{name}.{column} can overflow {kind}"
