"""``KafkaResource.watermarks`` asks again after a failure, at most twice, after a pause."""

import pytest
from confluent_kafka import KafkaError, KafkaException

from loom_dagster.resources import KafkaResource, kafka

MARKS = {0: (0, 10), 1: (5, 7)}


class Clock:
    """``time.monotonic`` and ``time.sleep`` that only move when slept."""

    def __init__(self) -> None:
        self.now = 0.0

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock(monkeypatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(kafka.time, "monotonic", fake.monotonic)
    monkeypatch.setattr(kafka.time, "sleep", fake.sleep)
    return fake


def _failing(times: int, calls: list[str], code: int = KafkaError._TIMED_OUT):
    def once(_resource: KafkaResource, topic: str) -> dict[int, tuple[int, int]]:
        calls.append(topic)
        if len(calls) <= times:
            raise KafkaException(KafkaError(code))
        return MARKS

    return once


def test_a_leader_that_died_is_asked_again_with_fresh_metadata(monkeypatch, clock):
    calls: list[str] = []
    monkeypatch.setattr(KafkaResource, "_watermarks", _failing(1, calls))
    assert KafkaResource(bootstrap_servers="x:1").watermarks("t") == MARKS
    assert calls == ["t", "t"]


def test_a_new_leader_catching_up_is_waited_for(monkeypatch, clock):
    # Seen in the cluster drill: the successor answers OFFSET_NOT_AVAILABLE
    # ("Leader high watermark is not caught up") at once, three times in a row.
    calls: list[str] = []
    not_caught_up = KafkaError.OFFSET_NOT_AVAILABLE
    monkeypatch.setattr(KafkaResource, "_watermarks", _failing(2, calls, not_caught_up))
    assert KafkaResource(bootstrap_servers="x:1").watermarks("t") == MARKS
    assert len(calls) == 3
    assert clock.now == pytest.approx(sum(kafka.WATERMARK_BACKOFF_S))


def test_gives_up_after_two_retries(monkeypatch, clock):
    calls: list[str] = []
    monkeypatch.setattr(KafkaResource, "_watermarks", _failing(99, calls))
    with pytest.raises(KafkaException):
        KafkaResource(bootstrap_servers="x:1").watermarks("t")
    assert len(calls) == 3
