"""Republishing committed rows to an enriched Kafka topic."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any, Protocol

FLUSH_TIMEOUT_S = 30.0  # each message also times out on its own after 5 s


class RepublishError(RuntimeError):
    """Some messages were not acknowledged by Kafka."""


class _Producer(Protocol):
    def produce(
        self, topic: str, value: bytes, key: bytes, on_delivery: Any
    ) -> None: ...
    def poll(self, timeout: float) -> int: ...
    def flush(self, timeout: float) -> int: ...


def republish(
    producer: _Producer, topic: str, messages: Iterable[Mapping[str, Any]]
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
    errors: list[str] = []
    sent = 0

    def on_delivery(err: Any, _msg: Any) -> None:
        if err is not None:
            errors.append(str(err))

    for message in messages:
        producer.produce(
            topic,
            value=json.dumps(message, separators=(",", ":")).encode(),
            key=str(message["device_id"]).encode(),
            on_delivery=on_delivery,
        )
        producer.poll(0)
        sent += 1
    pending = producer.flush(FLUSH_TIMEOUT_S)
    if errors or pending:
        msg = (
            f"republishing to {topic} failed for {len(errors) + pending} of {sent} "
            f"messages ({errors[0] if errors else 'not acknowledged in time'}); "
            "re-run the partition: its ids are stable, so nothing is doubled"
        )
        raise RepublishError(msg)
    return sent
