import pytest
from confluent_kafka import KafkaError, KafkaException

from loom_core.topics import GPS_RAW
from loom_dagster.landing.ranges import OffsetRange
from loom_dagster.landing.reader import RangeReader, ReadTimeoutError
from tests.unit.landing.fakes import FakeConsumer, FakeMessage, eof

TOPIC = GPS_RAW.name


def _log(partition, offsets):
    return {
        o: FakeMessage(partition, o, value=f"{partition}/{o}".encode()) for o in offsets
    }


def _reader(consumer, watermarks=None, idle=0.05):
    return RangeReader(
        consumer,
        TOPIC,
        idle_timeout_s=idle,
        watermarks=watermarks or (lambda p: (0, 10_000)),
    )


def _read(reader, ranges):
    return [(str(r), m.offset()) for r, m in reader.messages(ranges)]


def test_reads_exactly_the_ranges_and_closes_the_consumer():
    consumer = FakeConsumer({0: _log(0, range(100)), 1: _log(1, range(50))})
    reader = _reader(consumer)
    got = _read(reader, [OffsetRange(0, 10, 15), OffsetRange(1, 48, 50)])
    assert sorted(got) == sorted(
        [("0:10-15", o) for o in range(10, 15)] + [("1:48-50", 48), ("1:48-50", 49)]
    )
    assert reader.missing == {}
    assert reader.high_watermarks == {0: 100, 1: 50}  # as the fetches reported
    assert consumer.closed


def test_consume_is_asked_for_no_more_than_the_ranges_still_span():
    # consume(n) waits for n messages or its timeout: asking a small range for a
    # full batch made every small landing run wait out the timeout (0.5 s).
    consumer = FakeConsumer({0: _log(0, range(100)), 1: _log(1, range(50))}, batch=4)
    _read(_reader(consumer), [OffsetRange(0, 10, 15), OffsetRange(1, 40, 44)])
    assert consumer.asked[0] == 9
    assert consumer.asked == sorted(consumer.asked, reverse=True)
    assert all(n > 0 for n in consumer.asked)


def test_two_ranges_of_one_partition_are_read_in_turn_skipping_the_gap():
    consumer = FakeConsumer({0: _log(0, range(100))})
    got = _read(_reader(consumer), [OffsetRange(0, 30, 32), OffsetRange(0, 5, 7)])
    assert got == [("0:5-7", 5), ("0:5-7", 6), ("0:30-32", 30), ("0:30-32", 31)]
    assert consumer.assigned_history == [(0, 5), (0, 30)]


def test_offsets_deleted_by_retention_are_counted_missing():
    consumer = FakeConsumer({0: _log(0, range(20, 40))})  # 0-19 deleted
    reader = _reader(consumer)
    got = _read(reader, [OffsetRange(0, 15, 25)])
    assert [o for _, o in got] == list(range(20, 25))
    assert reader.missing == {OffsetRange(0, 15, 25): 5}


def test_a_range_wholly_deleted_is_settled_when_kafka_goes_idle():
    consumer = FakeConsumer({0: _log(0, range(50, 60))})
    consumer.position = {}
    reader = _reader(consumer, watermarks=lambda p: (50, 60))
    # The fake resets to the earliest offset (50), beyond the range's end.
    got = _read(reader, [OffsetRange(0, 10, 20)])
    assert got == []
    assert reader.missing == {OffsetRange(0, 10, 20): 10}


def test_a_silent_broker_times_out_with_a_clear_message():
    consumer = FakeConsumer({0: _log(0, range(3))})

    def unreachable(_partition):
        raise KafkaException(KafkaError(KafkaError._TRANSPORT))

    reader = _reader(consumer, watermarks=unreachable)
    with pytest.raises(
        ReadTimeoutError, match=r"offsets 0:3-10\) for 0.05 s; is the broker up"
    ):
        _read(reader, [OffsetRange(0, 0, 10)])
    assert consumer.closed


def test_end_of_partition_events_are_ignored_but_other_errors_raise():
    consumer = FakeConsumer({0: _log(0, range(5))}, errors=[eof()])
    assert len(_read(_reader(consumer), [OffsetRange(0, 0, 5)])) == 5
    broken = FakeConsumer(
        {0: _log(0, range(5))}, errors=[KafkaError(KafkaError._MSG_TIMED_OUT)]
    )
    with pytest.raises(KafkaException):
        _read(_reader(broken), [OffsetRange(0, 0, 5)])


def test_messages_past_the_end_are_not_yielded():
    consumer = FakeConsumer({0: _log(0, range(10))}, batch=10)
    got = _read(_reader(consumer), [OffsetRange(0, 2, 4)])
    assert [o for _, o in got] == [2, 3]


def test_batches_hold_the_messages_of_one_range_each_in_order():
    log = {0: _log(0, range(40)), 1: _log(1, range(40))}
    ranges = [OffsetRange(0, 0, 4), OffsetRange(0, 4, 12), OffsetRange(1, 0, 7)]
    batches = list(_reader(FakeConsumer(log, batch=5)).batches(ranges))
    for offset_range, batch in batches:
        assert batch
        assert {m.partition() for m in batch} == {offset_range.partition}
        assert all(offset_range.start <= m.offset() < offset_range.end for m in batch)
    by_range = {
        str(r): [m.offset() for b_range, b in batches if b_range == r for m in b]
        for r in ranges
    }
    assert by_range == {
        "0:0-4": [0, 1, 2, 3],
        "0:4-12": list(range(4, 12)),
        "1:0-7": list(range(7)),
    }
    # Messages come a consume() call at a time, not one by one.
    assert len(batches) < sum(len(v) for v in by_range.values())
    assert _read(_reader(FakeConsumer(log, batch=5)), ranges) == [
        (str(r), m.offset()) for r, b in batches for m in b
    ]
