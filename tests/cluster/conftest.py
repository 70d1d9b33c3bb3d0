"""The local cluster under test: 3 Kafka brokers, Trino with a worker, a replica.

One private cluster (free ports, a home under the shared one's ``test-stacks``)
serves the whole session; tests that kill a process bring it back before they end,
so the next test starts from a healthy cluster. ``make test-cluster`` runs these.
"""

from __future__ import annotations

import contextlib
import shutil
import time
import uuid
from collections.abc import Iterator

import pytest
from confluent_kafka import ElectionType, KafkaException
from confluent_kafka.admin import AdminClient

from loom_cli.stack.cluster import PORT_SPAN, ClusterLayout
from loom_cli.stack.process import free_port
from loom_cli.stack.stack import Stack
from loom_core import migrations
from loom_core.settings import LoomSettings
from tests.integration.conftest import instance  # noqa: F401
from tests.integration.landing.conftest import use_stack  # noqa: F401

READY_S = 60.0


@pytest.fixture(scope="session")
def cluster(settings: LoomSettings) -> Iterator[Stack]:
    """The private cluster, up and migrated; stopped and removed after the session."""
    home = settings.home / "test-stacks" / f"cluster-{uuid.uuid4().hex[:8]}"
    layout = ClusterLayout(base_port=free_port(span=PORT_SPAN), replica=True)
    base = LoomSettings(home=home, cache_dir=settings.cache)
    layout.save(home)  # as `loom stack up --cluster` does: the CLI finds it
    the_cluster = Stack.cluster(base, layout)
    try:
        the_cluster.up()
        migrations.apply(the_cluster.settings.database_url)
        yield the_cluster
    finally:
        the_cluster.down()
        shutil.rmtree(home, ignore_errors=True)


def leader_of(bootstrap: str, topic: str, partition: int) -> int:
    """Return the id of the broker leading ``topic``'s ``partition`` now."""
    admin = AdminClient({"bootstrap.servers": bootstrap})
    metadata = admin.list_topics(topic, timeout=10)
    return metadata.topics[topic].partitions[partition].leader


def kill_leader(cluster: Stack, topic: str, partition: int) -> int:
    """SIGKILL the broker leading ``partition``; return its id once another leads.

    Fails when no other broker leads the partition within ``READY_S``.
    """
    bootstrap = cluster.settings.kafka_bootstrap
    victim = leader_of(bootstrap, topic, partition)
    cluster.kill(f"kafka-{victim}")
    assert not cluster.service(f"kafka-{victim}").process.running()
    deadline = time.monotonic() + READY_S
    while leader_of(bootstrap, topic, partition) in (victim, -1):
        if time.monotonic() > deadline:
            pytest.fail(f"no broker took over {topic}/{partition} from {victim}")
        time.sleep(0.2)
    return victim


def wait_in_sync(bootstrap: str, topic: str, timeout_s: float = READY_S) -> None:
    """Block until every partition of ``topic`` has all its replicas in sync."""
    admin = AdminClient({"bootstrap.servers": bootstrap})
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        partitions = admin.list_topics(topic, timeout=10).topics[topic].partitions
        if all(
            len(p.isrs) == len(p.replicas) and p.leader >= 0
            for p in partitions.values()
        ):
            return
        time.sleep(0.5)
    pytest.fail(f"{topic} did not get all its replicas back in sync")


def revive(cluster: Stack, broker: int, topic: str) -> None:
    """Start a killed broker again, with ``topic`` in sync and leaders back.

    Kafka moves leaders back to their preferred replicas by itself within
    ``leader.imbalance.check.interval.seconds`` (5 min); the next test should
    not wait for that, so the preferred-leader election is asked for now.
    """
    cluster.up([f"kafka-{broker}"])
    bootstrap = cluster.settings.kafka_bootstrap
    wait_in_sync(bootstrap, topic)
    admin = AdminClient({"bootstrap.servers": bootstrap})
    with contextlib.suppress(KafkaException):  # ELECTION_NOT_NEEDED and the like
        admin.elect_leaders(ElectionType.PREFERRED, None).result()
