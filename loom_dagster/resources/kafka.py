"""Kafka, reached by sensors (watermarks only), landing runs and republishing assets."""

from __future__ import annotations

import time
from typing import Any

import dagster as dg
from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient

from loom_core import kafka as loom_kafka
from loom_core.settings import EXTERNAL_TIMEOUT_S

# A leader that died stays in the metadata until it is fenced, and its successor
# answers OFFSET_NOT_AVAILABLE until its high watermark catches up: ask again, at
# most twice (the rule for calls to other servers), after these pauses.
WATERMARK_BACKOFF_S = (1.0, 4.0)


class KafkaResource(dg.ConfigurableResource):
    """Clients for the Kafka cluster, configured the same way everywhere.

    Attributes
    ----------
    bootstrap_servers
        ``host:port`` list, from ``LOOM_KAFKA_BOOTSTRAP`` in the definitions.
    """

    bootstrap_servers: str

    def producer(self, **overrides: Any) -> Producer:
        """Return an idempotent ``acks=all`` lz4 producer."""
        return Producer(loom_kafka.producer_config(self.bootstrap_servers, **overrides))

    def consumer(self, group_id: str, **overrides: Any) -> Consumer:
        """Return a consumer that never commits on its own."""
        return Consumer(
            loom_kafka.consumer_config(self.bootstrap_servers, group_id, **overrides)
        )

    def admin(self) -> AdminClient:
        """Return an admin client."""
        return AdminClient({"bootstrap.servers": self.bootstrap_servers})

    def watermarks(self, topic: str) -> dict[int, tuple[int, int]]:
        """Return ``{partition: (low, high)}`` offsets of ``topic``; reads no payloads.

        The offsets are asked of each partition's leader. One that has just died
        (SIGKILL) stays the leader in the metadata until the controllers fence it
        (``broker.session.timeout.ms``), and the query times out; the new leader
        then answers "high watermark is not caught up" for a moment. So a failed
        query is asked again, with fresh metadata, after each pause of
        ``WATERMARK_BACKOFF_S``.

        Raises
        ------
        KafkaException
            When the last attempt fails too (no broker, or no leader).
        """
        for pause in WATERMARK_BACKOFF_S:
            try:
                return self._watermarks(topic)
            except KafkaException:
                time.sleep(pause)
        return self._watermarks(topic)

    def _watermarks(self, topic: str) -> dict[int, tuple[int, int]]:
        consumer = self.consumer("loom-watermarks")
        try:
            metadata = consumer.list_topics(topic, timeout=EXTERNAL_TIMEOUT_S)
            partitions = sorted(metadata.topics[topic].partitions)
            return {
                p: consumer.get_watermark_offsets(
                    TopicPartition(topic, p), timeout=EXTERNAL_TIMEOUT_S
                )
                for p in partitions
            }
        finally:
            consumer.close()
