"""Fixtures of the enrichment integration tests: the resources bound to the shared
stack, raw-row writers and a Kafka tail (``instance`` and ``db``: one level up)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import date, datetime
from typing import Any

import dagster as dg
import psycopg
import pytest
from confluent_kafka import Consumer, TopicPartition

from loom_core.kafka import consumer_config
from loom_dagster.resources import KafkaResource, TimescaleResource
from loom_dagster.resources.models import SpeechToTextResource, VisionResource

DAY = date(2024, 5, 6)


@pytest.fixture(scope="session")
def resources(settings) -> dict[str, Any]:
    """The enrichment assets' resources, on the shared stack, models loaded once."""
    return {
        "timescale": TimescaleResource(database_url=settings.database_url),
        "kafka": KafkaResource(bootstrap_servers=settings.kafka_bootstrap),
        "speech": SpeechToTextResource(),
        "vision": VisionResource(),
    }


def partition_key(device: str, day: date = DAY) -> dg.MultiPartitionKey:
    """The multi-partition key of a device-day."""
    return dg.MultiPartitionKey({"day": day.isoformat(), "device": device})


def materialize(
    asset: dg.AssetsDefinition,
    instance: dg.DagsterInstance,
    resources: dict[str, Any],
    device: str,
    *,
    day: date = DAY,
    incremental: bool | None = None,
) -> dg.ExecuteInProcessResult:
    """Materialise one partition of ``asset``, registering the device first."""
    instance.add_dynamic_partitions("devices", [device])
    name = asset.key.to_user_string()
    config = (
        {"ops": {name: {"config": {"incremental": incremental}}}}
        if incremental is not None
        else None
    )
    return dg.materialize(
        [asset],
        partition_key=partition_key(device, day),
        resources=resources,
        instance=instance,
        run_config=config,
        raise_on_error=False,
    )


def metadata(result: dg.ExecuteInProcessResult) -> dict[str, Any]:
    """The materialisation metadata of the run's single asset, as plain values."""
    (event,) = result.get_asset_materialization_events()
    return {k: v.value for k, v in event.materialization.metadata.items()}


def check_results(result: dg.ExecuteInProcessResult) -> dict[str, bool]:
    """Check name -> passed, from the run's check evaluations."""
    return {e.check_name: e.passed for e in result.get_asset_check_evaluations()}


class TopicTail:
    """Reads what was produced to a topic after this object was created."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        self.topic = topic
        self._consumer = Consumer(
            consumer_config(bootstrap, f"test-{uuid.uuid4().hex[:8]}")
        )
        meta = self._consumer.list_topics(topic, timeout=5)
        self._start = {
            p: self._consumer.get_watermark_offsets(
                TopicPartition(topic, p), timeout=5
            )[1]
            for p in meta.topics[topic].partitions
        }

    def messages(self, key: str) -> list[dict[str, Any]]:
        """Return every message keyed ``key`` produced since creation, in order."""
        ends = {
            p: self._consumer.get_watermark_offsets(
                TopicPartition(self.topic, p), timeout=5
            )[1]
            for p in self._start
        }
        self._consumer.assign(  # loom-lint: ignore - a test reads what was produced
            [TopicPartition(self.topic, p, off) for p, off in self._start.items()]
        )
        out: list[dict[str, Any]] = []
        remaining = {p for p in ends if ends[p] > self._start[p]}
        while remaining:
            msg = self._consumer.poll(5)
            assert msg is not None, f"timed out reading {self.topic}"
            assert msg.error() is None, msg.error()
            if msg.key() == key.encode():
                out.append(json.loads(msg.value()))
            if msg.offset() >= ends[msg.partition()] - 1:
                remaining.discard(msg.partition())
        return out

    def close(self) -> None:
        """Close the consumer."""
        self._consumer.close()


@pytest.fixture
def tail(settings) -> Iterator[Any]:
    """``tail(topic)`` starts a :class:`TopicTail`; all are closed at the end."""
    tails: list[TopicTail] = []

    def start(topic: object) -> TopicTail:
        t = TopicTail(settings.kafka_bootstrap, str(topic))
        tails.append(t)
        return t

    yield start
    for t in tails:
        t.close()


def rows(db: psycopg.Connection, table: str, device: str, order: str) -> list[dict]:
    """The enriched rows of a device, without ``computed_at``, in ``order``."""
    with db.cursor(row_factory=psycopg.rows.dict_row) as cur:
        cur.execute(
            f"SELECT * FROM {table} WHERE device_id = %s ORDER BY {order}", (device,)
        )
        out = cur.fetchall()
    for row in out:
        row.pop("computed_at")
    return out


def assert_contract(model: type, messages: list[dict[str, Any]]) -> None:
    """Every upsert message is its row model plus ``schema_version`` and ``op``."""
    for message in messages:
        assert message["schema_version"] == 1
        if message["op"] == "upsert":
            fields = {
                k: v for k, v in message.items() if k not in {"schema_version", "op"}
            }
            assert model.model_validate(fields).message() == message


def utc(value: str) -> datetime:
    """Parse an ISO timestamp."""
    return datetime.fromisoformat(value)
