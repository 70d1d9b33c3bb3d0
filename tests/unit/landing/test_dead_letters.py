import pytest
from confluent_kafka import KafkaError

from loom_core.topics import GPS_RAW, dead_letter_for
from loom_dagster.landing import dead_letters
from loom_dagster.landing.decode import Poison, PoisonReason
from tests.unit.landing.fakes import FakeMessage, FakeProducer

TOPIC = GPS_RAW.name
POISON = Poison(PoisonReason.SCHEMA_INVALID, "latitude: too big")


def test_headers_keep_the_originals_and_add_reason_and_source():
    message = FakeMessage(
        2, 77, value=b"x", headers=[("traceparent", b"00-abc"), ("source_offset", b"1")]
    )
    headers = dict(dead_letters.headers(POISON, TOPIC, message))
    assert headers["traceparent"] == b"00-abc"
    assert headers["dead_letter_reason"] == b"schema_invalid"
    assert headers["dead_letter_detail"] == b"latitude: too big"
    assert headers["source_topic"] == TOPIC.encode()
    assert headers["source_partition"] == b"2"
    assert headers["source_offset"] == b"77"  # ours, not the stale copy


def test_long_details_are_cut():
    long = Poison(PoisonReason.NOT_JSON, "x" * 5000)
    headers = dict(dead_letters.headers(long, TOPIC, FakeMessage(0, 0)))
    assert len(headers["dead_letter_detail"]) == dead_letters.DETAIL_MAX_CHARS


def test_send_goes_to_the_catalog_dead_letter_topic_with_key_and_value():
    producer = FakeProducer()
    sent = dead_letters.send(
        producer, TOPIC, [(FakeMessage(0, 5, value=b"v", key=b"k"), POISON)]
    )
    assert sent == 1
    topic, key, value, _ = producer.sent[0]
    assert topic == dead_letter_for(GPS_RAW).name
    assert (key, value) == (b"k", b"v")


def test_nothing_to_send_touches_no_producer():
    assert dead_letters.send(None, TOPIC, []) == 0


def test_a_refused_dead_letter_fails_the_run():
    producer = FakeProducer(fail=KafkaError(KafkaError._MSG_TIMED_OUT))
    with pytest.raises(dead_letters.DeadLetterError, match="the run is retried"):
        dead_letters.send(producer, TOPIC, [(FakeMessage(0, 5), POISON)])


def test_an_unconfirmed_dead_letter_fails_the_run():
    with pytest.raises(dead_letters.DeadLetterError, match="1 not confirmed in time"):
        dead_letters.send(
            FakeProducer(unconfirmed=1), TOPIC, [(FakeMessage(0, 5), POISON)]
        )
