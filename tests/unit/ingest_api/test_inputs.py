import json
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from ingest_api.inputs import (
    MAX_BATCH,
    DeviceMismatchError,
    EventBatch,
    batch_item_model,
    input_model,
    item_model,
    parse_batch,
    parse_event,
    request_schemas,
)
from loom_core.contracts import FAMILIES, AudioChunk, CameraFrame, GpsFix
from loom_core.contracts.ids import content_id

GPS = FAMILIES["gps"]
NOW = datetime.now(UTC)


def gps(**fields):
    return {
        "recorded_at": NOW.isoformat(),
        "latitude": 52.5,
        "longitude": 13.4,
        **fields,
    }


def body(value) -> bytes:
    return json.dumps(value).encode()


def event(family="gps", device="phone", at=NOW, **fields):
    data = gps(**fields) if family == "gps" else fields
    return parse_event(FAMILIES[family], body(data), device, at)


# -- documentation models ------------------------------------------------------------
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


def test_documented_batch_items_carry_their_family():
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


def test_request_schemas_document_every_family_and_the_batch():
    schemas = request_schemas()
    assert {f"{f.model.__name__}In" for f in FAMILIES.values()} <= set(schemas)
    items = schemas["EventBatch"]["properties"]["events"]["items"]
    assert len(items["oneOf"]) == len(FAMILIES)
    assert items["discriminator"]["propertyName"] == "family"


# -- validation models ---------------------------------------------------------------
@pytest.mark.parametrize("family", list(FAMILIES.values()), ids=list(FAMILIES))
def test_item_models_are_the_contract_with_optional_stamps(family):
    item = item_model(family)
    assert issubclass(item, family.model)
    assert set(item.model_fields) == set(family.model.model_fields) | {"family"}


def test_an_item_serialises_exactly_like_its_contract():
    parsed = event(accuracy_m=3.0)
    contract = GpsFix.model_validate(parsed.model_dump())
    assert parsed.model_dump_json() == contract.model_dump_json()
    assert "family" not in parsed.model_dump_json()


def test_parse_event_stamps_device_and_received_at():
    parsed = event(accuracy_m=3.0)
    assert isinstance(parsed, GpsFix)
    assert parsed.device_id == "phone"
    assert parsed.received_at == NOW
    assert parsed.accuracy_m == 3.0


def test_the_id_is_derived_from_the_content():
    first = event()
    again = event(at=NOW + timedelta(seconds=5))
    other = event(latitude=52.6)
    assert first.event_id == again.event_id != other.event_id
    content = first.model_dump_json(exclude={"event_id", "received_at"})
    assert first.event_id == content_id("phone", "gps", content.encode())
    assert first.event_id.version == 5


def test_the_id_does_not_depend_on_how_the_time_was_written():
    utc = event(recorded_at="2024-05-01T10:00:00Z")
    cest = event(recorded_at="2024-05-01T12:00:00+02:00")
    assert utc.event_id == cest.event_id


def test_a_client_event_id_and_its_own_device_are_kept():
    event_id = "8d1c5e6a-3f7b-4c59-9a55-0c9f6c2b2f11"
    parsed = event(event_id=event_id, device_id="phone")
    assert str(parsed.event_id) == event_id


def test_another_device_is_refused():
    with pytest.raises(DeviceMismatchError, match="belongs to device 'phone'"):
        event(device_id="tablet")


@pytest.mark.parametrize(
    ("family", "field", "data"),
    [
        ("gps", "received_at", gps(received_at=NOW.isoformat())),
        ("gps", "schema_version", gps(schema_version=1)),
        ("gps", "family", gps(family="gps")),
        (
            "camera",
            "pairing",
            {
                "recorded_at": NOW.isoformat(),
                "images": [{"data": ""}],
                "pairing": "paired",
            },
        ),
    ],
)
def test_fields_the_ingress_sets_are_refused_by_name(family, field, data):
    with pytest.raises(ValidationError) as caught:
        parse_event(FAMILIES[family], body(data), "phone", NOW)
    (error,) = caught.value.errors()
    assert error["loc"] == (field,)
    assert "set by the ingress" in error["msg"]


def test_the_contracts_checks_apply():
    audio = FAMILIES["audio"]
    even = {"recorded_at": NOW.isoformat(), "sample_rate": 16_000, "data": "AAAAAA=="}
    assert isinstance(parse_event(audio, body(even), "mic", NOW), AudioChunk)
    with pytest.raises(ValidationError, match="whole 16-bit samples"):
        parse_event(audio, body({**even, "data": "AAAA"}), "mic", NOW)
    for bad in (
        gps(colour="red"),
        gps(latitude=91),
        gps(recorded_at="2024-05-01T12:00"),
    ):
        with pytest.raises(ValidationError):
            parse_event(GPS, body(bad), "phone", NOW)
    with pytest.raises(ValidationError, match="future"):
        event(recorded_at=(NOW + timedelta(days=2)).isoformat())


@pytest.mark.parametrize("raw", [b"", b"{", b"[1]", b"\xff\xfe", b'{"latitude": NaN}'])
def test_what_is_not_an_object_of_json_is_a_validation_error(raw):
    with pytest.raises(ValidationError):
        parse_event(GPS, raw, "phone", NOW)


# -- batches -------------------------------------------------------------------------
def test_a_valid_batch_is_parsed_in_one_pass():
    items = [
        {"family": "gps", **gps()},
        {
            "family": "steps",
            "recorded_at": NOW.isoformat(),
            "count": 3,
            "interval_s": 60,
        },
    ]
    (gps_family, gps_event), (steps_family, steps_event) = parse_batch(
        body({"events": items}), "phone", NOW
    )
    assert (gps_family.name, steps_family.name) == ("gps", "steps")
    assert gps_event.event_id == event().event_id  # the same ids as single posts
    assert steps_event.count == 3


def test_a_batch_with_bad_items_answers_per_item():
    items = [
        {"family": "gps", **gps()},
        {"family": "gps", **gps(latitude=95)},
        {"family": "gps", **gps(device_id="other")},
        {"family": "gps", **gps(received_at="x")},
        {"family": "weather"},
        7,
        {"family": "camera", "recorded_at": NOW.isoformat(), "images": [{"data": ""}]},
    ]
    results = parse_batch(body({"events": items}), "phone", NOW)
    assert results[0][1].event_id == event().event_id
    assert isinstance(results[1], ValidationError)
    assert isinstance(results[2], DeviceMismatchError)
    assert isinstance(results[3], ValidationError)
    assert results[4].errors()[0]["loc"] == ("family",)
    assert results[5].errors()[0]["loc"] == ()
    assert isinstance(results[6][1], CameraFrame)


@pytest.mark.parametrize(
    "raw", [body({"events": []}), body({"events": [{}] * (MAX_BATCH + 1)}), body([])]
)
def test_what_is_not_a_batch_fails_as_a_whole(raw):
    with pytest.raises(ValidationError):
        parse_batch(raw, "phone", NOW)


@pytest.mark.parametrize(
    "at", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"]
)
def test_times_that_overflow_in_utc_are_a_422_not_a_crash(at):
    # Found by schemathesis: astimezone() raised OverflowError (a 500).
    with pytest.raises(ValidationError, match="out of range"):
        parse_event(GPS, body(gps(recorded_at=at)), "phone", NOW)
