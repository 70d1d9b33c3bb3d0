"""``KafkaResource.watermarks`` asks again after a failure, at most twice."""

import pytest
from confluent_kafka import KafkaError, KafkaException

from loom_dagster.resources import KafkaResource
from loom_dagster.resources.kafka import WATERMARK_RETRIES

MARKS = {0: (0, 10), 1: (5, 7)}


def _failing(times: int, calls: list[str]):
    def once(_resource: KafkaResource, topic: str) -> dict[int, tuple[int, int]]:
        calls.append(topic)
        if len(calls) <= times:
            raise KafkaException(KafkaError(KafkaError._TIMED_OUT))
        return MARKS

    return once


def test_a_leader_that_died_is_asked_again_with_fresh_metadata(monkeypatch):
    calls: list[str] = []
    monkeypatch.setattr(KafkaResource, "_watermarks", _failing(1, calls))
    assert KafkaResource(bootstrap_servers="x:1").watermarks("t") == MARKS
    assert calls == ["t", "t"]


def test_gives_up_after_the_retries(monkeypatch):
    calls: list[str] = []
    monkeypatch.setattr(KafkaResource, "_watermarks", _failing(99, calls))
    with pytest.raises(KafkaException):
        KafkaResource(bootstrap_servers="x:1").watermarks("t")
    assert len(calls) == WATERMARK_RETRIES + 1
