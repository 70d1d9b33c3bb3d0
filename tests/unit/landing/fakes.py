"""In-memory stand-ins for confluent-kafka clients (unit tests only)."""

from __future__ import annotations

from confluent_kafka import KafkaError


class FakeMessage:
    def __init__(
        self,
        partition,
        offset,
        value=b"{}",
        key=b"k",
        headers=None,
        error=None,
        timestamp=(1, 1_700_000_000_000),
    ):
        self._p, self._o, self._v, self._k = partition, offset, value, key
        self._h = headers
        self._e = error
        self._t = timestamp

    def error(self):
        return self._e

    def partition(self):
        return self._p

    def offset(self):
        return self._o

    def key(self):
        return self._k

    def value(self):
        return self._v

    def headers(self):
        return self._h

    def timestamp(self):
        return self._t


class FakeConsumer:
    """Partitions as {partition: {offset: message}}; honours assign/unassign."""

    def __init__(self, log, batch=3, errors=()):
        self.log = log
        self.batch = batch
        self.errors = list(errors)
        self.position = {}
        self.closed = False
        self.assigned_history = []
        self.asked = []  # num_messages of each consume() call

    def incremental_assign(self, tps):
        for tp in tps:
            offsets = sorted(self.log.get(tp.partition, {}))
            low = offsets[0] if offsets else 0
            self.position[tp.partition] = max(tp.offset, low)  # reset to earliest
            self.assigned_history.append((tp.partition, tp.offset))

    def incremental_unassign(self, tps):
        for tp in tps:
            self.position.pop(tp.partition, None)

    def consume(self, num_messages, timeout):
        self.asked.append(num_messages)
        if self.errors:
            return [FakeMessage(0, 0, error=self.errors.pop(0))]
        out = []
        for partition in sorted(self.position):
            messages = self.log.get(partition, {})
            later = [o for o in sorted(messages) if o >= self.position[partition]]
            for offset in later[: min(self.batch, num_messages - len(out))]:
                out.append(messages[offset])
                self.position[partition] = offset + 1
        return out

    def get_watermark_offsets(self, tp, cached=False):
        assert cached, "the reader only asks for what its fetches reported"
        offsets = sorted(self.log.get(tp.partition, {}))
        return (offsets[0], offsets[-1] + 1) if offsets else (-1001, -1001)

    def close(self):
        self.closed = True


class FakeProducer:
    def __init__(self, fail=None, unconfirmed=0):
        self.sent = []
        self.fail = fail
        self.unconfirmed = unconfirmed

    def produce(self, topic, key=None, value=None, headers=None, on_delivery=None):
        self.sent.append((topic, key, value, headers))
        if on_delivery is not None:
            on_delivery(self.fail, None)

    def poll(self, timeout):
        return 0

    def flush(self, timeout):
        return self.unconfirmed


def eof():
    return KafkaError(KafkaError._PARTITION_EOF)
