"""Republishing committed rows to an enriched Kafka topic."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from loom_core.kafka import Deliveries

if TYPE_CHECKING:
    from confluent_kafka import Producer

FLUSH_TIMEOUT_S = 30.0  # each message also times out on its own after 5 s


class RepublishError(RuntimeError):
    """Some messages were not acknowledged by Kafka."""


def republish(
    producer: Producer, topic: str, messages: Iterable[Mapping[str, Any]]
) -> int:
    """Produce each message keyed by its ``device_id`` and wait for every ack.

    Returns
    -------
    int
        How many messages Kafka acknowledged.

    Raises
    ------
    RepublishError
        When any message failed or is still unacknowledged after the flush; the
        rows are committed and their ids stable, so re-running the partition
        republishes them without duplicates downstream.
    """
    deliveries = Deliveries(producer)
    for message in messages:
        deliveries.produce(
            topic,
            key=str(message["device_id"]).encode(),
            value=json.dumps(message, separators=(",", ":")).encode(),
        )
    if deliveries.wait(FLUSH_TIMEOUT_S):
        errors = deliveries.errors
        msg = (
            f"republishing to {topic} failed for {deliveries.failed} of "
            f"{deliveries.sent} messages "
            f"({errors[0] if errors else 'not acknowledged in time'}); "
            "re-run the partition: its ids are stable, so nothing is doubled"
        )
        raise RepublishError(msg)
    return deliveries.sent
