from confluent_kafka import KafkaError

from loom_core.kafka import Deliveries
from loom_core.topics import GPS_RAW

TOPIC = GPS_RAW.name


class QueueFullOnce:
    """A producer whose local queue is full on the first send."""

    def __init__(self, fail=None, unconfirmed=0):
        self.sent, self.polls = [], []
        self.full = True
        self.fail, self.unconfirmed = fail, unconfirmed

    def produce(self, topic, key=None, value=None, headers=None, on_delivery=None):
        if self.full:
            self.full = False
            raise BufferError
        self.sent.append((topic, key, value, headers))
        on_delivery(self.fail, "report")

    def poll(self, timeout):
        self.polls.append(timeout)
        return 0

    def flush(self, timeout):
        return self.unconfirmed


def test_a_full_queue_is_served_then_the_message_sent():
    producer = QueueFullOnce()
    deliveries = Deliveries(producer)
    deliveries.produce(TOPIC, b"k", b"v")
    assert producer.sent == [(TOPIC, b"k", b"v", None)]
    assert producer.polls[0] == 0.5
    assert (deliveries.sent, deliveries.wait(1)) == (1, 0)


def test_refused_and_unconfirmed_messages_both_count_as_failed():
    error = KafkaError(KafkaError._MSG_TIMED_OUT)
    reports = []
    deliveries = Deliveries(
        QueueFullOnce(fail=error, unconfirmed=2),
        on_delivery=lambda err, msg: reports.append((err, msg)),
    )
    deliveries.produce(TOPIC, None, b"v", [("h", b"1")])
    assert deliveries.wait(1) == 3
    assert deliveries.errors == [error]
    assert reports == [(error, "report")]
