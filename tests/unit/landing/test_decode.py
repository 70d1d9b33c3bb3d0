import base64
import json
import uuid
from datetime import UTC, datetime

import pytest

from loom_core.contracts import AudioChunk, GpsFix
from loom_core.contracts.ids import offset_event_id
from loom_core.topics import GPS_RAW
from loom_dagster.landing.decode import Poison, PoisonReason, decode
from tests.unit.landing.fakes import FakeMessage

TOPIC = GPS_RAW.name
FIX = {
    "device_id": "phone-1",
    "event_id": "6f1c1a8e-4d1e-4c55-9d1f-000000000001",
    "recorded_at": "2024-05-01T10:00:00+02:00",
    "received_at": "2024-05-01T08:00:01Z",
    "latitude": 52.5,
    "longitude": 13.4,
}


def _message(value: object, offset: int = 42, **kw) -> FakeMessage:
    raw = value if isinstance(value, bytes | None) else json.dumps(value).encode()
    return FakeMessage(1, offset, value=raw, **kw)


def _gps(value: object, **kw) -> GpsFix | Poison:
    return decode(GpsFix, _message(value, **kw), TOPIC)


def test_valid_fix_decodes_with_utc_times():
    event = _gps(FIX)
    assert isinstance(event, GpsFix)
    assert event.recorded_at == datetime(2024, 5, 1, 8, 0, tzinfo=UTC)
    assert event.event_id == uuid.UUID(FIX["event_id"])


@pytest.mark.parametrize("value", [b"not json", b"\xff\xfe", b'{"device_id": '])
def test_bytes_that_are_not_json_are_poison(value):
    poison = _gps(value)
    assert isinstance(poison, Poison)
    assert poison.reason is PoisonReason.NOT_JSON
    assert "Invalid JSON" in poison.detail


def test_a_tombstone_is_poison():
    poison = decode(GpsFix, FakeMessage(1, 42, value=None), TOPIC)
    assert isinstance(poison, Poison)
    assert poison.reason is PoisonReason.NOT_JSON
    assert "no value" in poison.detail


def test_unknown_schema_version_wins_over_other_errors():
    poison = _gps({"schema_version": 2, "device_id": "x"})
    assert isinstance(poison, Poison)
    assert poison.reason is PoisonReason.UNKNOWN_SCHEMA_VERSION
    assert "schema_version 2" in poison.detail


def test_schema_invalid_names_the_field():
    poison = _gps({**FIX, "latitude": 91})
    assert isinstance(poison, Poison)
    assert poison.reason is PoisonReason.SCHEMA_INVALID
    assert poison.detail.startswith("latitude: ")


def test_json_that_is_not_an_object_is_schema_invalid():
    poison = _gps([1, 2])
    assert isinstance(poison, Poison)
    assert poison.reason is PoisonReason.SCHEMA_INVALID


def test_many_errors_are_summarised():
    poison = _gps({"device_id": "???", "extra": 1})
    assert isinstance(poison, Poison)
    assert "more error(s)" in poison.detail
    assert poison.detail.count(";") == 3


def test_missing_event_id_is_derived_from_the_offset_deterministically():
    fix = {k: v for k, v in FIX.items() if k != "event_id"}
    first, again = _gps(fix), _gps(fix)
    other = _gps(fix, offset=43)
    assert first.event_id == again.event_id == offset_event_id(TOPIC, 1, 42)
    assert other.event_id != first.event_id


def test_missing_received_at_is_the_kafka_timestamp():
    fix = {k: v for k, v in FIX.items() if k != "received_at"}
    event = _gps(fix, timestamp=(1, 1_714_550_400_123))
    assert event.received_at == datetime(2024, 5, 1, 8, 0, 0, 123000, tzinfo=UTC)


def test_missing_received_at_without_a_kafka_timestamp_keeps_the_default():
    fix = {k: v for k, v in FIX.items() if k != "received_at"}
    event = _gps(fix, timestamp=(0, -1))
    assert event.received_at > datetime(2024, 5, 2, tzinfo=UTC)


def test_audio_bytes_come_back_raw_from_base64():
    pcm = b"\x01\x00\x02\x00"
    chunk = {
        "device_id": "mic-1",
        "recorded_at": "2024-05-01T08:00:00Z",
        "sample_rate": 16000,
        "data": base64.b64encode(pcm).decode(),
    }
    event = decode(AudioChunk, _message(chunk), TOPIC)
    assert isinstance(event, AudioChunk)
    assert event.data == pcm


def test_audio_with_bad_base64_is_schema_invalid():
    chunk = {
        "device_id": "mic-1",
        "recorded_at": "2024-05-01T08:00:00Z",
        "sample_rate": 16000,
        "data": "@@@",
    }
    poison = decode(AudioChunk, _message(chunk), TOPIC)
    assert isinstance(poison, Poison)
    assert poison.reason is PoisonReason.SCHEMA_INVALID
    assert "base64" in poison.detail
