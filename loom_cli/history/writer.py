"""``loom import``'s writer: imported fixes to Kafka, acknowledged before counted."""

from __future__ import annotations

from collections.abc import Callable

from confluent_kafka import KafkaException, Producer

from ingest_api.history import HistoryFormatError, Problem
from ingest_api.history.load import ImportSummary, Input, events
from loom_core.contracts import GpsFix
from loom_core.kafka import Deliveries, producer_config, to_message


class Writer:
    """Produces imported events to Kafka (acks=all, idempotent), file by file."""

    def __init__(self, bootstrap: str) -> None:
        self._producer = Producer(producer_config(bootstrap, **{"linger.ms": 50}))

    def write(
        self,
        item: Input,
        device_id: str,
        progress: Callable[[], None] = lambda: None,
        batch: int = 5_000,
    ) -> ImportSummary:
        """Import one input; return once Kafka acknowledged (or failed) each event."""
        summary = ImportSummary(item.name, item.fmt)
        deliveries = Deliveries(self._producer, on_delivery=summary.delivered)
        try:
            for count, event in enumerate(events(item, device_id), start=1):
                if count % 1_000 == 0:
                    progress()
                if isinstance(event, Problem):
                    summary.reject(event)
                    continue
                self._produce(deliveries, event)
                if deliveries.sent % batch == 0:
                    deliveries.wait(30)
        except HistoryFormatError as exc:
            summary.error = str(exc)
        deliveries.wait(30)
        summary.failed += deliveries.unconfirmed  # refusals: summary.delivered
        progress()
        return summary

    @staticmethod
    def _produce(deliveries: Deliveries, event: GpsFix) -> None:
        try:
            deliveries.produce(*to_message(event))
        except KafkaException as exc:
            msg = f"Kafka refused the write ({exc}); is the stack up? (loom stack up)"
            raise HistoryFormatError(msg) from exc
