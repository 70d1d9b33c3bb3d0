"""Read exactly a set of offset ranges of one topic from Kafka.

The consumer is assigned to partitions at explicit offsets (no group
subscription, no committed offsets, nothing committed back): what a run reads
is decided by its ranges alone, so a retried run reads the same messages.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from typing import Protocol

from confluent_kafka import Consumer, KafkaError, KafkaException, TopicPartition

from loom_dagster.landing.ranges import OffsetRange

CONSUME_BATCH = 5_000
POLL_TIMEOUT_S = 0.5


class ReadTimeoutError(RuntimeError):
    """Kafka delivered nothing for too long while a range was unfinished."""


class KafkaMessage(Protocol):
    """What landing uses of a consumed message (``confluent_kafka.Message``)."""

    def error(self) -> KafkaError | None: ...  # noqa: D102
    def partition(self) -> int: ...  # noqa: D102
    def offset(self) -> int: ...  # noqa: D102
    def key(self) -> bytes | None: ...  # noqa: D102
    def value(self) -> bytes | None: ...  # noqa: D102
    def headers(self) -> list[tuple[str, bytes | None]] | None: ...  # noqa: D102
    def timestamp(self) -> tuple[int, int]: ...  # noqa: D102


class _Partition:
    """Progress through the ranges of one partition, in offset order."""

    def __init__(self, ranges: list[OffsetRange]) -> None:
        self.queue = sorted(ranges)
        self.current: OffsetRange | None = self.queue.pop(0)
        self.expected = self.current.start

    def advance(self) -> OffsetRange | None:
        """Move on to the next range; return it (None when all are read)."""
        self.current = self.queue.pop(0) if self.queue else None
        if self.current is not None:
            self.expected = self.current.start
        return self.current


def _still_wanted(open_: dict[int, _Partition]) -> int:
    """Return how many offsets the open ranges still span (0: all are read)."""
    return sum(
        s.current.end - s.expected + sum(r.end - r.start for r in s.queue)
        for s in open_.values()
        if s.current is not None
    )


class RangeReader:
    """Reads offset ranges of ``topic`` with a consumer it owns and closes.

    Parameters
    ----------
    consumer
        A consumer that never commits (``KafkaResource.consumer``).
    topic
        The topic the ranges belong to.
    idle_timeout_s
        How long Kafka may deliver nothing before the read fails.
    watermarks
        Returns ``(low, high)`` of a partition; used to tell offsets Kafka has
        deleted from offsets it is slow to deliver.
    """

    def __init__(
        self,
        consumer: Consumer,
        topic: str,
        *,
        idle_timeout_s: float,
        watermarks: Callable[[int], tuple[int, int]],
    ) -> None:
        self.consumer = consumer
        self.topic = topic
        self.idle_timeout_s = idle_timeout_s
        self.watermarks = watermarks
        self.missing: dict[OffsetRange, int] = {}
        # Each partition's end offset as the last fetch reported it, once read.
        self.high_watermarks: dict[int, int] = {}

    def messages(
        self, ranges: Sequence[OffsetRange]
    ) -> Iterator[tuple[OffsetRange, KafkaMessage]]:
        """Yield every message of ``ranges`` with the range it belongs to.

        See :meth:`batches`, which this takes apart.
        """
        for offset_range, batch in self.batches(ranges):
            for message in batch:
                yield offset_range, message

    def batches(
        self, ranges: Sequence[OffsetRange]
    ) -> Iterator[tuple[OffsetRange, list[KafkaMessage]]]:
        """Yield the messages of ``ranges`` in batches, each of one range.

        Offsets a range spans but Kafka did not deliver (deleted by retention)
        are counted in :attr:`missing` once the iteration ends.

        Raises
        ------
        ReadTimeoutError
            When Kafka delivers nothing for ``idle_timeout_s`` (broker down).
        KafkaException
            On a consumer error other than reaching a partition's end.
        """
        by_partition: dict[int, list[OffsetRange]] = {}
        for offset_range in ranges:
            by_partition.setdefault(offset_range.partition, []).append(offset_range)
        open_ = {p: _Partition(rs) for p, rs in by_partition.items()}
        try:
            self.consumer.incremental_assign(
                [TopicPartition(self.topic, p, s.expected) for p, s in open_.items()]
            )
            yield from self._consume(open_)
            self._keep_high_watermarks(list(open_))
        finally:
            self.consumer.close()

    def _keep_high_watermarks(self, partitions: list[int]) -> None:
        """Keep the end offsets the fetches reported (no request to the broker)."""
        for partition in partitions:
            tp = TopicPartition(self.topic, partition)
            _, high = self.consumer.get_watermark_offsets(tp, cached=True)
            if high >= 0:  # OFFSET_INVALID when no fetch reported one
                self.high_watermarks[partition] = high

    def _finish(self, partition: int, state: _Partition) -> None:
        """Close the current range of ``partition`` and seek to its next one."""
        current = state.current
        assert current is not None  # noqa: S101 - only called on an open range
        if state.expected < current.end:
            self._count_missing(current, current.end - state.expected)
        tp = TopicPartition(self.topic, partition)
        self.consumer.incremental_unassign([tp])
        following = state.advance()
        if following is not None:
            self.consumer.incremental_assign(
                [TopicPartition(self.topic, partition, following.start)]
            )

    def _count_missing(self, offset_range: OffsetRange, count: int) -> None:
        self.missing[offset_range] = self.missing.get(offset_range, 0) + count

    def _consume(
        self, open_: dict[int, _Partition]
    ) -> Iterator[tuple[OffsetRange, list[KafkaMessage]]]:
        last_progress = time.monotonic()
        while wanted := _still_wanted(open_):
            batch: list[KafkaMessage] = []
            batch_range: OffsetRange | None = None
            # consume() returns once it has this many messages, or at the timeout:
            # asking for more than the ranges hold would wait out the timeout.
            count = min(CONSUME_BATCH, wanted)
            for raw in self.consumer.consume(count, timeout=POLL_TIMEOUT_S):
                offset_range = self._accept(raw, open_)
                if offset_range is None:
                    continue
                if offset_range is not batch_range:
                    if batch_range is not None:
                        yield batch_range, batch
                    batch, batch_range = [], offset_range
                batch.append(raw)
            if batch_range is not None:
                yield batch_range, batch
                last_progress = time.monotonic()
            elif time.monotonic() - last_progress > self.idle_timeout_s:
                if not self._settle_idle(open_):
                    self._timeout(open_)
                last_progress = time.monotonic()

    def _accept(
        self, raw: KafkaMessage, open_: dict[int, _Partition]
    ) -> OffsetRange | None:
        """Return the range ``raw`` belongs to, or None when it is not wanted."""
        error = raw.error()
        if error is not None:
            if error.code() == KafkaError._PARTITION_EOF:  # noqa: SLF001
                return None
            raise KafkaException(error)
        state = open_.get(raw.partition())
        if state is None or state.current is None:
            return None
        offset, current = raw.offset(), state.current
        if offset < state.expected:
            return None  # delivered before a seek took effect
        if offset >= current.end:
            self._finish(raw.partition(), state)
            return None
        if offset > state.expected:
            # Offsets Kafka skipped: deleted by retention, or not data.
            self._count_missing(current, offset - state.expected)
        state.expected = offset + 1
        if state.expected >= current.end:
            self._finish(raw.partition(), state)
        return current

    def _settle_idle(self, open_: dict[int, _Partition]) -> bool:
        """Close ranges Kafka can no longer deliver; return True if any closed."""
        closed = False
        for partition, state in open_.items():
            current = state.current
            if current is None:
                continue
            try:
                low, high = self.watermarks(partition)
            except KafkaException:
                return False  # the broker is unreachable: report a timeout
            if low >= current.end or high <= state.expected:
                # Deleted by retention, or beyond what the partition holds.
                self._finish(partition, state)
                closed = True
        return closed

    def _timeout(self, open_: dict[int, _Partition]) -> None:
        waiting = ", ".join(
            f"{p}:{s.expected}-{s.current.end}"
            for p, s in sorted(open_.items())
            if s.current is not None
        )
        msg = (
            f"Kafka delivered nothing from {self.topic} (offsets {waiting}) for "
            f"{self.idle_timeout_s:g} s; is the broker up? the run is retried"
        )
        raise ReadTimeoutError(msg)
