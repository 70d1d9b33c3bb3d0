import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
from pydantic import ValidationError

from loom_core.contracts import (
    FAMILIES,
    AudioChunk,
    CameraFrame,
    GpsFix,
    family,
    schemas,
)
from loom_core.contracts.samples import gps_fixes

NOW = datetime.now(UTC)


def gps(**fields):
    return {
        "device_id": "phone-1",
        "recorded_at": NOW.isoformat(),
        "latitude": 52.5,
        "longitude": 13.4,
        **fields,
    }


def error_fields(exc: ValidationError) -> set[str]:
    return {".".join(map(str, e["loc"])) for e in exc.errors()}


def test_gps_fix_fills_envelope_defaults():
    fix = GpsFix.model_validate(gps())
    assert fix.schema_version == 1
    assert fix.event_id.version == 4
    assert fix.received_at.tzinfo is not None
    assert fix.recorded_at == NOW


def test_recorded_at_is_normalised_to_utc():
    fix = GpsFix.model_validate(gps(recorded_at="2024-05-01T12:00:00+02:00"))
    assert fix.recorded_at == datetime(2024, 5, 1, 10, tzinfo=UTC)
    assert fix.recorded_at.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    ("fields", "bad"),
    [
        ({"latitude": 91}, "latitude"),
        ({"longitude": -180.5}, "longitude"),
        ({"latitude": float("nan")}, "latitude"),
        ({"speed_mps": -1}, "speed_mps"),
        ({"recorded_at": (NOW + timedelta(days=2)).isoformat()}, "recorded_at"),
        ({"recorded_at": "2024-05-01T12:00:00"}, "recorded_at"),
        ({"device_id": "bad id with spaces"}, "device_id"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_gps_fix_rejects_bad_fields_by_name(fields, bad):
    with pytest.raises(ValidationError) as caught:
        GpsFix.model_validate(gps(**fields))
    assert bad in error_fields(caught.value)


def test_future_timestamp_message_says_what_to_check():
    with pytest.raises(ValidationError, match="more than a day in the future"):
        GpsFix.model_validate(gps(recorded_at=(NOW + timedelta(days=3)).isoformat()))


PLUS_TWO = timezone(timedelta(hours=2))


@pytest.mark.parametrize(
    "spell",
    [
        pytest.param(lambda m: m.isoformat().replace("+00:00", "Z"), id="Z"),
        pytest.param(lambda m: m.isoformat(), id="+00:00"),
        pytest.param(lambda m: m.astimezone(PLUS_TWO).isoformat(), id="+02:00"),
    ],
)
def test_the_clock_skew_limit_holds_however_the_time_is_written(spell):
    # Each JSON time is followed by a Python datetime: the zone the limit is kept
    # in switches between pydantic-core's UTC and datetime's.
    for hours, allowed in [(23, True), (25, False), (-1, True), (24.5, False)]:
        moment = datetime.now(UTC) + timedelta(hours=hours)
        written = json.dumps(gps(recorded_at=spell(moment)))
        for validate, body in (
            (GpsFix.model_validate_json, written),
            (GpsFix.model_validate, gps(recorded_at=moment)),
        ):
            if allowed:
                assert validate(body).recorded_at == moment
            else:
                with pytest.raises(ValidationError, match="in the future"):
                    validate(body)


def test_a_utc_time_from_json_stays_utc_in_json():
    fix = GpsFix.model_validate_json(
        json.dumps(gps(recorded_at="2024-05-01T10:00:00Z"))
    )
    assert fix.recorded_at.utcoffset() == timedelta(0)
    assert '"recorded_at":"2024-05-01T10:00:00Z"' in fix.model_dump_json()


def test_audio_chunk_needs_whole_samples_and_reports_duration():
    pcm = b"\x00\x01" * 16_000
    chunk = AudioChunk(device_id="mic", recorded_at=NOW, sample_rate=16_000, data=pcm)
    assert chunk.duration_s == pytest.approx(1.0)
    with pytest.raises(ValidationError, match="whole 16-bit samples"):
        AudioChunk(device_id="mic", recorded_at=NOW, sample_rate=16_000, data=b"\x00")


def test_camera_frame_holds_one_or_two_images():
    image = {"camera": "front", "data": "aGVsbG8="}
    frame = CameraFrame(device_id="cam", recorded_at=NOW, images=[image])
    assert frame.images[0].data == b"hello"
    with pytest.raises(ValidationError):
        CameraFrame(device_id="cam", recorded_at=NOW, images=[image] * 3)


def test_family_lookup_names_the_known_families():
    assert family("gps").table == "gps_data"
    with pytest.raises(KeyError, match="known families: accelerometer"):
        family("gyroscope")


@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_committed_schema_matches_the_model(name):
    fam = FAMILIES[name]
    committed = schemas.schema_path(fam).read_text()
    assert committed == schemas.render(
        schemas.generate(fam)
    ), "run `python -m loom_core.contracts.schemas` and commit the result"


def test_serialised_event_validates_against_its_schema():
    message = json.loads(GpsFix.model_validate(gps(accuracy_m=5)).model_dump_json())
    validator = schemas.validator("gps")
    assert list(validator.iter_errors(message)) == []
    del message["latitude"]
    assert [e.message for e in validator.iter_errors(message)] == [
        "'latitude' is a required property"
    ]


def test_write_all_regenerates_every_family(tmp_path, monkeypatch):
    monkeypatch.setattr(schemas, "SCHEMA_DIR", tmp_path)
    written = schemas.write_all()
    assert sorted(p.name for p in written) == sorted(f"{n}.v1.json" for n in FAMILIES)
    gps_schema = json.loads((tmp_path / "gps.v1.json").read_text())
    assert gps_schema["x-topic"] == "device.sensor.gps.raw"


def test_generated_gps_fixes_stay_valid_and_distinct_however_many():
    fixes = gps_fixes("sample-phone", 5000, every=timedelta(milliseconds=10))
    assert len({f.recorded_at for f in fixes}) == len({f.event_id for f in fixes})
    assert len({f.event_id for f in fixes}) == 5000
    assert all(-90 <= f.latitude <= 90 and -180 <= f.longitude <= 180 for f in fixes)
    assert {f.source for f in gps_fixes("sample-phone", 2, source="bench")} == {"bench"}
