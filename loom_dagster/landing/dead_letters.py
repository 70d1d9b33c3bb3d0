"""Poison messages to the dead-letter topic beside their raw topic.

A dead letter keeps the original key, value and headers, and adds headers saying
why it could not land and where it came from. They are produced and confirmed
(``acks=all``) before the batch commits: a crash in between produces them again
on the retry, so a dead letter may repeat - consumers dedupe on
``source_topic``/``source_partition``/``source_offset`` - but is never lost.
"""

from __future__ import annotations

from collections.abc import Sequence

from confluent_kafka import Producer

from loom_core.kafka import Deliveries
from loom_core.topics import dead_letter_for
from loom_dagster.landing.decode import Poison
from loom_dagster.landing.reader import KafkaMessage

REASON_HEADER = "dead_letter_reason"
DETAIL_HEADER = "dead_letter_detail"
SOURCE_TOPIC_HEADER = "source_topic"
SOURCE_PARTITION_HEADER = "source_partition"
SOURCE_OFFSET_HEADER = "source_offset"
DETAIL_MAX_CHARS = 1_000
FLUSH_TIMEOUT_S = 15.0


class DeadLetterError(RuntimeError):
    """Poison messages could not be written to their dead-letter topic."""


def headers(
    poison: Poison, topic: str, message: KafkaMessage
) -> list[tuple[str, bytes]]:
    """Return the headers of the dead letter of ``message`` (originals first)."""
    ours = {
        REASON_HEADER,
        DETAIL_HEADER,
        SOURCE_TOPIC_HEADER,
        SOURCE_PARTITION_HEADER,
        SOURCE_OFFSET_HEADER,
    }
    kept = [(k, v or b"") for k, v in message.headers() or [] if k not in ours]
    return [
        *kept,
        (REASON_HEADER, poison.reason.value.encode()),
        (DETAIL_HEADER, poison.detail[:DETAIL_MAX_CHARS].encode()),
        (SOURCE_TOPIC_HEADER, topic.encode()),
        (SOURCE_PARTITION_HEADER, str(message.partition()).encode()),
        (SOURCE_OFFSET_HEADER, str(message.offset()).encode()),
    ]


def send(
    producer: Producer,
    topic: str,
    poisoned: Sequence[tuple[KafkaMessage, Poison]],
    flush_timeout_s: float = FLUSH_TIMEOUT_S,
) -> int:
    """Produce the dead letters of ``poisoned`` and wait until Kafka has them all.

    Returns how many were written.

    Raises
    ------
    DeadLetterError
        When one is refused or not confirmed in time (the run fails and retries).
    """
    if not poisoned:
        return 0
    target = dead_letter_for(topic).name
    deliveries = Deliveries(producer)
    for message, poison in poisoned:
        deliveries.produce(
            target, message.key(), message.value(), headers(poison, topic, message)
        )
    if deliveries.wait(flush_timeout_s):
        errors, left = deliveries.errors, deliveries.unconfirmed
        reason = errors[0].str() if errors else f"{left} not confirmed in time"
        msg = (
            f"could not write {len(errors) or left} of {len(poisoned)} poison "
            f"messages to {target}: {reason}; the run is retried"
        )
        raise DeadLetterError(msg)
    return len(poisoned)
