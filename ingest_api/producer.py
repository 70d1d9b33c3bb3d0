"""An asyncio face on confluent-kafka's producer: await the broker's acknowledgement.

``produce()`` only queues a message; the delivery report (fired by ``poll()``)
says whether the broker persisted it. The event loop polls every millisecond while
messages are in flight; the reports of a request's messages resolve its future. A
request is answered 2xx only after its reports came back without error.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from functools import partial
from typing import Any, NamedTuple

from confluent_kafka import KafkaError, KafkaException, Message, Producer

from loom_core.kafka import producer_config

log = logging.getLogger(__name__)

POLL_INTERVAL_S = 0.001
# While every broker is known to be down, answer sooner than the full ack timeout:
# devices get their 503 quickly instead of holding connections open.
DOWN_ACK_TIMEOUT_S = 1.0


class DeliveryError(Exception):
    """Kafka did not acknowledge a message (unreachable, timed out, refused)."""


class MessageTooLargeError(Exception):
    """The message is larger than the producer or broker accepts."""


class Outgoing(NamedTuple):
    """One message to produce."""

    topic: str
    key: bytes
    value: bytes


class Delivery(NamedTuple):
    """Where the broker stored a message, and how long the acknowledgement took."""

    topic: str
    partition: int
    offset: int
    latency_s: float


class _Batch:
    """Delivery reports of messages produced together.

    Each report is only recorded as it comes; the results are built once all
    are in.
    """

    __slots__ = ("deadline", "future", "loop", "remaining", "reports", "started")

    def __init__(
        self, loop: asyncio.AbstractEventLoop, size: int, wait_s: float
    ) -> None:
        self.loop = loop
        self.future: asyncio.Future[None] = loop.create_future()
        self.reports: list[tuple[KafkaError | None, Message | None] | Exception] = [
            DeliveryError("not produced")
        ] * size
        self.remaining = size
        self.started = time.monotonic()
        self.deadline = loop.time() + wait_s

    def report(self, index: int, err: KafkaError | None, msg: Message | None) -> None:
        """Record one delivery report (runs inside poll(), on the event loop)."""
        self.reports[index] = (err, msg)
        self.settle()

    def settle(self) -> None:
        """Count one message as done; resolve the future when all are."""
        self.remaining -= 1
        if self.remaining == 0:
            try:
                here = asyncio.get_running_loop()
            except RuntimeError:  # reports flushed by close(), off the loop
                here = None
            if here is self.loop:
                self._resolve()
            else:
                self.loop.call_soon_threadsafe(self._resolve)

    def _resolve(self) -> None:
        if not self.future.done():
            self.future.set_result(None)

    def results(self) -> list[Delivery | Exception]:
        """Return a delivery or an exception per message (on the loop)."""
        latency = time.monotonic() - self.started
        results: list[Delivery | Exception] = []
        for report in self.reports:
            if isinstance(report, Exception):
                results.append(report)
                continue
            err, msg = report
            if err is None and msg is not None:
                results.append(
                    Delivery(msg.topic(), msg.partition(), msg.offset(), latency)
                )
            else:
                results.append(_failure(err))
        return results


def _failure(err: KafkaError | None) -> Exception:
    if err is None:
        return DeliveryError("Kafka reported neither a delivery nor an error")
    if err.code() == KafkaError.MSG_SIZE_TOO_LARGE:
        return MessageTooLargeError(err.str())
    return DeliveryError(f"Kafka did not acknowledge the event: {err.str()}")


class EventProducer:
    """A durable producer (``loom_core.kafka.producer_config``) usable with await.

    Parameters
    ----------
    bootstrap
        Kafka bootstrap servers.
    ack_timeout_s
        How long :meth:`send_many` waits for delivery reports before it gives up
        (the message may still be delivered later: event ids make that harmless).
    max_message_bytes
        Largest message value the producer accepts.
    """

    def __init__(
        self,
        bootstrap: str,
        *,
        ack_timeout_s: float = 4.5,
        max_message_bytes: int = 4_000_000,
        **overrides: Any,
    ) -> None:
        self.config = producer_config(
            bootstrap,
            **{
                "message.max.bytes": max_message_bytes + 64 * 1024,
                # Reconnect within a second once a broker is back (default: 10 s).
                "reconnect.backoff.max.ms": 1000,
                "error_cb": self._on_error,
                "logger": log,  # librdkafka's own log lines, through logging
                **overrides,
            },
        )
        self.ack_timeout_s = ack_timeout_s
        self._producer = Producer(self.config)
        self._broken = False
        self._brokers_down = False
        self._poller: asyncio.Handle | None = None
        self._waiting: list[_Batch] = []

    # -- delivery -------------------------------------------------------------------
    async def send(self, message: Outgoing) -> Delivery:
        """Produce one message and return where the broker stored it.

        Raises
        ------
        DeliveryError
            No acknowledgement within the timeout, or an error report.
        MessageTooLargeError
            The message is over the size limit.
        """
        (result,) = await self.send_many([message])
        if isinstance(result, Exception):
            raise result
        return result

    async def send_many(
        self,
        messages: Sequence[Outgoing],
        headers: list[tuple[str, bytes]] | None = None,
    ) -> list[Delivery | Exception]:
        """Produce messages together; return a delivery or an exception for each.

        Never raises for a single message's failure: the caller answers per item.
        ``headers`` (the trace context) go with every message.
        """
        if not messages:
            return []
        loop = asyncio.get_running_loop()
        wait_s = self.ack_timeout_s
        if self._brokers_down:
            wait_s = min(wait_s, DOWN_ACK_TIMEOUT_S)
        batch = _Batch(loop, len(messages), wait_s)
        producer = self._producer
        for index, message in enumerate(messages):
            self._produce(producer, batch, index, message, headers)
        # The poller ends the wait at the deadline (no timer per request).
        self._waiting.append(batch)
        if self._poller is None:
            self._poller = loop.call_soon(self._poll, loop)
        await batch.future
        if batch.remaining:
            timeout = DeliveryError(
                f"Kafka did not acknowledge within {wait_s:g} s"
                + (" (no broker is reachable)" if self._brokers_down else "")
            )
            return [
                timeout if isinstance(r, DeliveryError) else r for r in batch.results()
            ]
        results = batch.results()
        if any(isinstance(r, Delivery) for r in results):
            self._brokers_down = False
        return results

    @staticmethod
    def _produce(
        producer: Producer,
        batch: _Batch,
        index: int,
        message: Outgoing,
        headers: list[tuple[str, bytes]] | None,
    ) -> None:
        try:
            producer.produce(
                message.topic,
                message.value,
                message.key,
                headers=headers,
                on_delivery=partial(batch.report, index),
            )
        except BufferError:
            batch.reports[index] = DeliveryError(
                "the Kafka producer's queue is full (the broker is slow or down)"
            )
            batch.settle()
        except KafkaException as exc:
            batch.reports[index] = _failure(exc.args[0])
            batch.settle()

    # -- health ---------------------------------------------------------------------
    def check(self, timeout_s: float = 2.0) -> None:
        """Raise unless the broker answers a metadata request (blocking)."""
        try:
            self._current().list_topics(timeout=timeout_s)
        except KafkaException as exc:
            msg = f"Kafka at {self.config['bootstrap.servers']} is unreachable: {exc}"
            raise DeliveryError(msg) from None

    # -- lifecycle ------------------------------------------------------------------
    def close(self, timeout_s: float = 5.0) -> int:
        """Flush; return how many messages were left undelivered."""
        if self._poller is not None:
            self._poller.cancel()
        return self._producer.flush(timeout_s)

    def _current(self) -> Producer:
        return self._producer

    def _poll(self, loop: asyncio.AbstractEventLoop) -> None:
        """Serve delivery reports on the event loop, while messages are in flight.

        Polling on the loop (every millisecond, only while something waits for an
        acknowledgement) costs less than a polling thread: no GIL hand-over and
        no cross-thread wake-up per report. It also ends the waits that reach
        their deadline, so requests need no timer of their own.
        """
        self._poller = None
        if self._broken:
            self._replace()
        self._producer.poll(0)
        now = loop.time()
        waiting = []
        for batch in self._waiting:
            if batch.future.done():
                continue
            if batch.deadline <= now:
                batch.future.set_result(None)  # with reports missing: timed out
            else:
                waiting.append(batch)
        self._waiting = waiting
        if waiting or len(self._producer):
            self._poller = loop.call_later(POLL_INTERVAL_S, self._poll, loop)

    def _replace(self) -> None:
        # A fatal error (rare for an idempotent producer) leaves the client unusable:
        # a new one lets the next request succeed once the broker is back. Messages
        # still queued in the old one fail now instead of at their timeout.
        old = self._producer
        self._producer = Producer(self.config)
        self._broken = False
        old.purge()
        old.poll(0)

    def _on_error(self, err: KafkaError) -> None:
        if err.code() == KafkaError._ALL_BROKERS_DOWN:  # noqa: SLF001 - public code
            self._brokers_down = True
        if err.fatal():
            log.error("Kafka producer hit a fatal error, replacing it: %s", err.str())
            self._broken = True
        else:
            log.warning("Kafka: %s", err.str())
