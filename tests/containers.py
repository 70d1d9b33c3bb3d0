"""The integration suite's servers as containers, for machines with a Docker engine.

``LOOM_TEST_SERVERS=testcontainers`` (the ubuntu CI job sets it) runs Kafka (KRaft),
PostgreSQL+TimescaleDB, Redis and Trino with ``testcontainers`` instead of
``loom stack``: the same versions and configuration files, on ports Docker picks;
their addresses are exported as ``LOOM_*`` before any test is collected, so every
test, fixture and subprocess reads them through the settings models as usual. The
default, ``stack``, uses the local stack. Tests of the local stack itself (files
``test_stack_*``, the ``private_stack`` fixture) are skipped with containers.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

from loom_core.settings import REPO_ROOT

SETTING = "LOOM_TEST_SERVERS"
CHOICES = ("stack", "testcontainers")
# As the local stack runs them (deploy/local, loom_cli/stack/services.py).
# testcontainers' Kafka module drives Confluent's image: Platform 8.1 is Kafka 4.1.
KAFKA_IMAGE = "confluentinc/cp-kafka:8.1.0"
POSTGRES_IMAGE = "timescale/timescaledb:2.17.2-pg15"
REDIS_IMAGE = "redis:7.4.2"
TRINO_IMAGE = "trinodb/trino:476"
TRINO_CATALOGS = REPO_ROOT / "deploy" / "trino" / "catalog"
TRINO_KAFKA_TABLES = REPO_ROOT / "deploy" / "trino" / "kafka-tables"


def wanted() -> bool:
    """Whether ``LOOM_TEST_SERVERS`` asks for containers (an unknown value fails)."""
    choice = os.environ.get(SETTING, "stack")
    if choice not in CHOICES:
        msg = f"{SETTING}={choice!r}: use one of {', '.join(CHOICES)}"
        raise ValueError(msg)
    return choice == "testcontainers"


@contextmanager
def servers() -> Iterator[dict[str, str]]:
    """Start the four servers; yield the ``LOOM_*`` variables that address them."""
    # Imported here: testcontainers is needed only where Docker is.
    from testcontainers.community.kafka import KafkaContainer  # noqa: PLC0415
    from testcontainers.community.postgres import PostgresContainer  # noqa: PLC0415
    from testcontainers.community.redis import RedisContainer  # noqa: PLC0415
    from testcontainers.core.container import DockerContainer  # noqa: PLC0415
    from testcontainers.core.network import Network  # noqa: PLC0415
    from testcontainers.core.waiting_utils import wait_for_logs  # noqa: PLC0415

    from loom_core.kafka import ensure_topics  # noqa: PLC0415

    with ExitStack() as started:
        network = started.enter_context(Network())
        kafka = started.enter_context(
            KafkaContainer(KAFKA_IMAGE)
            .with_kraft()
            .with_env("KAFKA_MESSAGE_MAX_BYTES", "4194304")
            .with_env("KAFKA_AUTO_CREATE_TOPICS_ENABLE", "false")
            .with_network(network)
            .with_network_aliases("kafka")
        )
        postgres = started.enter_context(
            PostgresContainer(
                POSTGRES_IMAGE,
                username="loom",
                password="loom",
                dbname="loom",
                driver=None,
            )
            .with_network(network)
            .with_network_aliases("timescaledb")
        )
        postgres.exec(
            ["psql", "-U", "loom", "-d", "loom", "-c", "CREATE DATABASE dagster"]
        )
        postgres.exec(
            [
                "psql",
                "-U",
                "loom",
                "-d",
                "loom",
                "-c",
                "CREATE EXTENSION IF NOT EXISTS timescaledb",
            ]
        )
        redis = started.enter_context(RedisContainer(REDIS_IMAGE))
        trino = started.enter_context(
            DockerContainer(TRINO_IMAGE)
            .with_network(network)
            .with_exposed_ports(8080)
            .with_env("LOOM_KAFKA_BOOTSTRAP", "kafka:9092")
            .with_env("LOOM_TRINO_KAFKA_TABLES", "/etc/trino/kafka-tables")
            .with_env("LOOM_TRINO_PG_JDBC", "jdbc:postgresql://timescaledb:5432/loom")
            .with_env("LOOM_TRINO_PG_USER", "loom")
            .with_env("LOOM_TRINO_PG_PASSWORD", "loom")
            .with_volume_mapping(str(TRINO_CATALOGS), "/etc/trino/catalog", "ro")
            .with_volume_mapping(
                str(TRINO_KAFKA_TABLES), "/etc/trino/kafka-tables", "ro"
            )
        )
        wait_for_logs(trino, "SERVER STARTED", timeout=300)
        bootstrap = kafka.get_bootstrap_server()
        ensure_topics(bootstrap)
        host = postgres.get_container_host_ip()
        yield {
            "LOOM_KAFKA_BOOTSTRAP": bootstrap,
            "LOOM_DATABASE_URL": (
                f"postgresql://loom:loom@{host}:{postgres.get_exposed_port(5432)}/loom"
            ),
            "LOOM_REDIS_URL": (
                f"redis://{redis.get_container_host_ip()}:"
                f"{redis.get_exposed_port(6379)}/0"
            ),
            "LOOM_TRINO_URL": (
                f"http://{trino.get_container_host_ip()}:{trino.get_exposed_port(8080)}"
            ),
        }
