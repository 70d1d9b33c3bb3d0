from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime

import pytest

from loom_dagster.enrichment import samples
from loom_dagster.enrichment.messages import Caption, deletion
from loom_dagster.enrichment.republish import RepublishError, republish
from loom_dagster.enrichment.store import DeviceDay


class FakeProducer:
    """Records messages; fails the ones whose value contains ``fail``."""

    def __init__(self, pending: int = 0) -> None:
        self.sent: list[tuple[str, bytes, bytes]] = []
        self._callbacks = []
        self.pending = pending

    def produce(self, topic, value, key, on_delivery, headers=None):
        self.sent.append((topic, key, value))
        self._callbacks.append((on_delivery, b"fail" in value))

    def poll(self, timeout):
        return 0

    def flush(self, timeout):
        for callback, fails in self._callbacks:
            callback("Broker: boom" if fails else None, None)
        return self.pending


def caption(**overrides):
    fields = {
        "time": datetime(2024, 5, 6, 12, tzinfo=UTC),
        "device_id": "phone",
        "day": date(2024, 5, 6),
        "source_event_id": uuid.UUID(int=7),
        "source": "camera",
        "caption": None,
        "tags": ["cat"],
        "tag_scores": [0.4],
        "ocr_text": "",
        "model_name": "m",
        "model_version": "1",
    }
    return Caption(**(fields | overrides))


def test_a_row_message_is_its_columns_with_a_version_and_an_op():
    message = caption().message()
    assert message["schema_version"] == 1
    assert message["op"] == "upsert"
    assert message["source_event_id"] == str(uuid.UUID(int=7))
    assert message["time"] == "2024-05-06T12:00:00Z"
    assert set(caption().model_dump()) == set(message) - {"schema_version", "op"}


def test_a_deletion_names_the_id_and_the_partition():
    assert deletion("abc", "segment_id", "phone", date(2024, 5, 6)) == {
        "schema_version": 1,
        "op": "delete",
        "segment_id": "abc",
        "device_id": "phone",
        "day": "2024-05-06",
    }


def test_republish_keys_by_device_and_counts_acknowledged_messages():
    producer = FakeProducer()
    sent = republish(producer, "media.image.captioned.frames", [caption().message()])
    assert sent == 1
    ((topic, key, value),) = producer.sent
    assert (topic, key) == ("media.image.captioned.frames", b"phone")
    assert json.loads(value)["tags"] == ["cat"]


def test_republish_fails_loudly_when_a_message_is_not_acknowledged():
    producer = FakeProducer()
    messages = [caption().message(), caption(ocr_text="fail").message()]
    with pytest.raises(
        RepublishError, match=r"failed for 1 of 2 messages.*Broker: boom"
    ):
        republish(producer, "media.image.captioned.frames", messages)
    with pytest.raises(RepublishError, match=r"not acknowledged in time.*re-run"):
        republish(FakeProducer(pending=1), "t.x", [caption().message()])


def test_a_device_day_spans_one_utc_day():
    partition = DeviceDay("phone", date(2024, 2, 29))
    assert partition.start == datetime(2024, 2, 29, tzinfo=UTC)
    assert partition.end == datetime(2024, 3, 1, tzinfo=UTC)
    assert str(partition) == "phone 2024-02-29"


def test_speech_samples_need_espeak_and_say_how_to_get_it(monkeypatch):
    monkeypatch.setattr(samples.shutil, "which", lambda _: None)
    with pytest.raises(
        RuntimeError, match=r"espeak-ng and sox not found; run scripts/bootstrap\.sh"
    ):
        samples.speech(["hello"])
