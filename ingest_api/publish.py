"""Publishing events: contract model -> Kafka message -> acknowledged result.

Key = ``device_id``, value = the model's JSON (``model_dump_json``; bytes as
base64), headers = the W3C trace context. An event counts as accepted only when
the broker's delivery report came back without error.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import NamedTuple
from uuid import UUID

from fastapi import HTTPException
from fastapi.exceptions import RequestValidationError
from opentelemetry.trace import NoOpTracer, SpanKind, Tracer, get_current_span

from ingest_api.errors import TooLarge, Unavailable, one_invalid
from ingest_api.observability import Metrics, trace_headers
from ingest_api.producer import (
    Delivery,
    DeliveryError,
    EventProducer,
    MessageTooLargeError,
    Outgoing,
)
from loom_core.contracts import DeviceEvent, Family
from loom_core.kafka import to_message


class Accepted(NamedTuple):
    """An event the broker acknowledged, and where it is."""

    event_id: UUID
    topic: str
    partition: int
    offset: int

    def as_json(self) -> dict[str, object]:
        """Return the acknowledgement a client gets."""
        return {
            "event_id": str(self.event_id),
            "topic": self.topic,
            "partition": self.partition,
            "offset": self.offset,
        }


class Publisher:
    """Produce contract events durably and count what happened to them.

    Parameters
    ----------
    producer
        The app's Kafka producer.
    metrics
        Where outcomes and delivery latency are counted.
    tracer
        Opens a producer span whose context goes into the Kafka headers.
    max_message_bytes
        Largest message value; a bigger event gets 413.
    retry_after_s
        ``Retry-After`` of the 503 sent when Kafka does not acknowledge.
    earliest_recorded_at
        Events recorded before this are refused (422).
    """

    def __init__(
        self,
        producer: EventProducer,
        metrics: Metrics,
        tracer: Tracer,
        *,
        max_message_bytes: int,
        retry_after_s: int,
        earliest_recorded_at: datetime = datetime(2000, 1, 1, tzinfo=UTC),
    ) -> None:
        self.producer = producer
        self.metrics = metrics
        self.tracer = tracer
        self.max_message_bytes = max_message_bytes
        self.retry_after_s = retry_after_s
        self.earliest_recorded_at = earliest_recorded_at
        self.tracing = not isinstance(tracer, NoOpTracer)

    async def publish(self, family: Family, event: DeviceEvent) -> Accepted:
        """Produce one event; raise the HTTP error a client should get otherwise."""
        (result,) = await self.publish_many([(family, event)])
        if isinstance(result, Exception):
            raise result
        return result

    async def publish_many(
        self, events: Sequence[tuple[Family, DeviceEvent]]
    ) -> list[Accepted | HTTPException | RequestValidationError]:
        """Produce events together; return an acknowledgement or an error for each."""
        results: list[Accepted | HTTPException | RequestValidationError | None]
        results = [None] * len(events)
        earliest = self.earliest_recorded_at
        outgoing: list[Outgoing] = []
        sent: list[int] = []
        outcomes: Counter[tuple[str, str]] = Counter()
        for index, (family, event) in enumerate(events):
            if event.recorded_at < earliest:
                results[index] = self.too_early()
                outcomes[family.name, "invalid"] += 1
                continue
            message = Outgoing(*to_message(event, family))
            if len(message.value) > self.max_message_bytes:
                results[index] = self._too_large(family, len(message.value))
                outcomes[family.name, "too_large"] += 1
            else:
                outgoing.append(message)
                sent.append(index)
        if self.tracing:
            with self.tracer.start_as_current_span(
                "publish", kind=SpanKind.PRODUCER
            ) as span:
                span.set_attribute("messaging.system", "kafka")
                span.set_attribute("messaging.batch.message_count", len(outgoing))
                span.set_attribute(
                    "messaging.destination.name", sorted({m.topic for m in outgoing})
                )
                deliveries = await self.producer.send_many(outgoing, trace_headers())
        else:
            # Not tracing: pass on the client's trace context, if it sent one.
            incoming = get_current_span().get_span_context().is_valid
            headers = trace_headers() if incoming else None
            deliveries = await self.producer.send_many(outgoing, headers)
        for index, delivery in zip(sent, deliveries):
            family, event = events[index]
            if isinstance(delivery, Delivery):
                results[index] = Accepted(
                    event.event_id, delivery.topic, delivery.partition, delivery.offset
                )
                outcomes[family.name, "accepted"] += 1
            else:
                results[index] = self._failed(family, event, delivery)
                outcomes[family.name, "failed"] += 1
        # Counted once per request, not per event: metrics stay cheap for batches.
        metrics = self.metrics
        for (family_name, outcome), count in outcomes.items():
            metrics.child(metrics.events, family_name, outcome).inc(count)
        for topic, latency in {
            d.topic: d.latency_s for d in deliveries if isinstance(d, Delivery)
        }.items():
            metrics.child(metrics.kafka_delivery_seconds, topic).observe(latency)
        return results  # type: ignore[return-value]

    def too_early(self, loc: Sequence[str] = ("body", "recorded_at")) -> Exception:
        """Return the 422 of a time before ``earliest_recorded_at``."""
        return one_invalid(
            loc,
            f"is before {self.earliest_recorded_at.isoformat()} "
            "(LOOM_EARLIEST_RECORDED_AT); check the device clock",
        )

    def _failed(
        self, family: Family, event: DeviceEvent, error: Exception
    ) -> HTTPException:
        if isinstance(error, MessageTooLargeError):
            return self._too_large(family, len(event.model_dump_json()))
        reason = str(error) if isinstance(error, DeliveryError) else "error"
        return Unavailable(
            f"{reason}; nothing was stored, retry later", self.retry_after_s
        )

    def _too_large(self, family: Family, size: int) -> TooLarge:
        return TooLarge(
            f"the {family.name} event is {size} bytes as JSON, over the limit of "
            f"{self.max_message_bytes}; send smaller images or audio chunks"
        )
