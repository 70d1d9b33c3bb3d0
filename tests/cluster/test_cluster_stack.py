"""`loom stack up --cluster`: three replicated brokers, Trino with a worker, a replica."""

from __future__ import annotations

import time
from collections import Counter

import psycopg
from click.testing import CliRunner
from confluent_kafka.admin import AdminClient, ConfigResource

from loom_cli.main import cli
from loom_cli.stack.stack import Stack
from loom_core import topics

EVERY_PROCESS = [
    "postgres",
    "postgres-replica",
    "redis",
    "kafka-controller-1",
    "kafka-controller-2",
    "kafka-controller-3",
    "kafka-1",
    "kafka-2",
    "kafka-3",
    "trino",
    "trino-worker",
]


def test_every_catalog_topic_has_three_replicas_two_in_sync_and_spread_leaders(
    cluster: Stack,
):
    admin = AdminClient({"bootstrap.servers": cluster.settings.kafka_bootstrap})
    metadata = admin.list_topics(timeout=10)
    deadline = time.monotonic() + 10  # leaders may be moving back to a revived broker
    while (
        time.monotonic() < deadline
        and len(
            {p.leader for t in metadata.topics.values() for p in t.partitions.values()}
        )
        < 3
    ):
        time.sleep(0.5)
        metadata = admin.list_topics(timeout=10)
    leaders: Counter[int] = Counter()
    for topic in topics.CATALOG.values():
        partitions = metadata.topics[topic.name].partitions
        assert len(partitions) == topic.partitions
        for partition in partitions.values():
            assert sorted(partition.replicas) == [1, 2, 3], topic.name
            leaders[partition.leader] += 1
        (configs,) = admin.describe_configs(
            [ConfigResource(ConfigResource.Type.TOPIC, topic.name)]
        ).values()
        assert configs.result()["min.insync.replicas"].value == "2", topic.name
    assert set(leaders) == {1, 2, 3}
    assert max(leaders.values()) - min(leaders.values()) <= len(topics.CATALOG)


def test_status_lists_every_process_healthy_through_the_cli(cluster: Stack):
    env = {"LOOM_HOME": str(cluster.settings.home.parent)}
    result = CliRunner().invoke(cli, ["stack", "status", "--cluster"], env=env)
    assert result.exit_code == 0, result.output
    lines = [ln.split() for ln in result.output.splitlines()[1:]]
    assert [ln[0] for ln in lines] == EVERY_PROCESS
    assert all(ln[1] == "healthy" for ln in lines), result.output


def test_the_replica_streams_what_the_primary_commits(cluster: Stack, device_id):
    replica = cluster.service("postgres-replica")
    with psycopg.connect(cluster.settings.database_url, autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE IF NOT EXISTS cluster_probe (device_id text PRIMARY KEY)"
        )
        conn.execute("INSERT INTO cluster_probe VALUES (%s)", (device_id,))
    replica_url = cluster.settings.database_url.replace(
        f":{cluster.settings.postgres_port}/", f":{replica.port}/"
    )
    deadline = time.monotonic() + 30
    with psycopg.connect(replica_url, autocommit=True) as conn:
        while True:
            row = conn.execute(
                "SELECT count(*) FROM cluster_probe WHERE device_id = %s", (device_id,)
            ).fetchone()
            if row[0] == 1 or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert row[0] == 1
        read_only = conn.execute("SHOW transaction_read_only").fetchone()[0]
    assert read_only == "on"
