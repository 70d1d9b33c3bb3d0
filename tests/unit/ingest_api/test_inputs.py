from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from ingest_api.event_ids import content_id
from ingest_api.inputs import (
    MAX_BATCH,
    DeviceMismatchError,
    EventBatch,
    batch_item_model,
    input_model,
    to_event,
    to_events,
)
from loom_core.contracts import FAMILIES, AudioChunk, GpsFix

GPS = FAMILIES["gps"]
NOW = datetime.now(UTC)


def gps_in(**fields):
    return input_model(GPS).model_validate(gps(**fields))


@pytest.mark.parametrize("family", list(FAMILIES.values()), ids=list(FAMILIES))
def test_input_models_leave_out_what_the_ingress_stamps(family):
    fields = input_model(family).model_fields
    assert "received_at" not in fields
    assert "schema_version" not in fields
    assert fields["device_id"].is_required() is False
    assert fields["event_id"].is_required() is False
    contract = set(family.model.model_fields) - {"received_at", "schema_version"}
    if family.name == "camera":
        contract -= {"pairing"}
    assert set(fields) == contract


def test_input_models_keep_the_contracts_checks():
    model = input_model(GPS)
    for bad in ({"latitude": 91}, {"longitude": float("nan")}, {"speed_mps": -2}):
        with pytest.raises(ValidationError):
            model.model_validate(
                {"recorded_at": NOW.isoformat(), "latitude": 1, "longitude": 1, **bad}
            )
    with pytest.raises(ValidationError, match="future"):
        gps_in(recorded_at=(NOW + timedelta(days=2)).isoformat())
    with pytest.raises(ValidationError, match="Extra inputs"):
        gps_in(received_at=NOW.isoformat())


def gps(**fields):
    return {
        "recorded_at": NOW.isoformat(),
        "latitude": 52.5,
        "longitude": 13.4,
        **fields,
    }


def test_to_event_stamps_device_and_received_at():
    event = to_event(GPS, gps(accuracy_m=3.0), "phone", NOW)
    assert isinstance(event, GpsFix)
    assert event.device_id == "phone"
    assert event.received_at == NOW
    assert event.accuracy_m == 3.0


def test_to_event_derives_the_id_from_the_content():
    first = to_event(GPS, gps(), "phone", NOW)
    again = to_event(GPS, gps(), "phone", NOW + timedelta(seconds=5))
    other = to_event(GPS, gps(latitude=52.6), "phone", NOW)
    assert first.event_id == again.event_id != other.event_id
    content = first.model_dump_json(exclude={"event_id", "received_at"})
    assert first.event_id == content_id("phone", "gps", content.encode())
    assert first.event_id.version == 5


def test_the_id_does_not_depend_on_how_the_time_was_written():
    utc = to_event(GPS, gps(recorded_at="2024-05-01T10:00:00Z"), "phone", NOW)
    cest = to_event(GPS, gps(recorded_at="2024-05-01T12:00:00+02:00"), "phone", NOW)
    assert utc.event_id == cest.event_id


def test_to_event_keeps_a_client_event_id_and_its_own_device():
    event_id = "8d1c5e6a-3f7b-4c59-9a55-0c9f6c2b2f11"
    event = to_event(GPS, gps(event_id=event_id, device_id="phone"), "phone", NOW)
    assert str(event.event_id) == event_id


def test_to_event_refuses_another_device():
    with pytest.raises(DeviceMismatchError, match="belongs to device 'phone'"):
        to_event(GPS, gps(device_id="tablet"), "phone", NOW)


@pytest.mark.parametrize(
    ("family", "field"),
    [("gps", "received_at"), ("gps", "schema_version"), ("camera", "pairing")],
)
def test_fields_the_ingress_sets_are_refused_by_name(family, field):
    with pytest.raises(ValidationError) as caught:
        to_event(FAMILIES[family], gps(**{field: "x"}), "phone", NOW)
    (error,) = caught.value.errors()
    assert error["loc"] == (field,)
    assert "set by the ingress" in error["msg"]


def test_to_event_runs_the_contract_model_checks():
    audio = FAMILIES["audio"]
    even = {"recorded_at": NOW.isoformat(), "sample_rate": 16_000, "data": "AAAAAA=="}
    assert isinstance(to_event(audio, even, "mic", NOW), AudioChunk)
    with pytest.raises(ValidationError, match="whole 16-bit samples"):
        to_event(audio, {**even, "data": "AAAA"}, "mic", NOW)
    with pytest.raises(ValidationError, match="Extra inputs"):
        to_event(GPS, gps(colour="red"), "phone", NOW)


def test_batch_items_carry_their_family():
    item = batch_item_model(GPS).model_validate({"family": "gps", **gps()})
    assert item.family == "gps"
    with pytest.raises(ValidationError):
        batch_item_model(GPS).model_validate({"family": "steps", **gps()})


def test_event_batch_checks_only_the_envelope():
    batch = EventBatch.model_validate({"events": [{"anything": 1}, 5]})
    assert batch.events == [{"anything": 1}, 5]
    with pytest.raises(ValidationError):
        EventBatch.model_validate({"events": []})
    with pytest.raises(ValidationError):
        EventBatch.model_validate({"events": [{}] * (MAX_BATCH + 1)})


def test_event_batch_schema_documents_every_family():
    schema = EventBatch.model_json_schema()
    items = schema["properties"]["events"]["items"]
    refs = {ref["$ref"].rsplit("/", 1)[1] for ref in items["oneOf"]}
    assert len(refs) == len(FAMILIES)
    assert items["discriminator"]["propertyName"] == "family"


def test_to_events_answers_per_item_and_validates_the_rest():
    items = [
        gps(),
        gps(latitude=95),
        gps(device_id="other"),
        gps(received_at="x"),
        gps(),
    ]
    results = to_events(GPS, items, "phone", NOW)
    assert isinstance(results[0], GpsFix)
    assert isinstance(results[1], ValidationError)
    assert isinstance(results[2], DeviceMismatchError)
    assert isinstance(results[3], ValidationError)
    assert results[4].event_id == results[0].event_id  # the same event twice
