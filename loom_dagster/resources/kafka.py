"""Kafka, reached by sensors (watermarks only), landing runs and republishing assets."""

from __future__ import annotations

from typing import Any

import dagster as dg
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient

from loom_core import kafka as loom_kafka

WATERMARK_TIMEOUT_S = 5.0


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
        """Return ``{partition: (low, high)}`` offsets of ``topic``; reads no payloads."""
        consumer = self.consumer("loom-watermarks")
        try:
            metadata = consumer.list_topics(topic, timeout=WATERMARK_TIMEOUT_S)
            partitions = sorted(metadata.topics[topic].partitions)
            return {
                p: consumer.get_watermark_offsets(
                    TopicPartition(topic, p), timeout=WATERMARK_TIMEOUT_S
                )
                for p in partitions
            }
        finally:
            consumer.close()
