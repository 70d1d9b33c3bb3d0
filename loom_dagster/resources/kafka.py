"""Kafka, reached by sensors (watermarks only), landing runs and republishing assets."""

from __future__ import annotations

from typing import Any

import dagster as dg
from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient

from loom_core import kafka as loom_kafka
from loom_core.settings import EXTERNAL_TIMEOUT_S

WATERMARK_RETRIES = 2  # after a timeout: a leader that died, until it is fenced


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
        (``broker.session.timeout.ms``), and the query times out: it is asked
        again, with fresh metadata, at most ``WATERMARK_RETRIES`` times.

        Raises
        ------
        KafkaException
            When the last attempt fails too (no broker, or no leader).
        """
        failed = 0
        while True:
            try:
                return self._watermarks(topic)
            except KafkaException:
                failed += 1
                if failed > WATERMARK_RETRIES:
                    raise

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
