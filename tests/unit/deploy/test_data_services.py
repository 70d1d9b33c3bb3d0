"""The data services: pinned charts, dependencies in order, Kafka from the catalog."""

from __future__ import annotations

import re

import pytest
import yaml

from loom_cli import kafka_topics
from loom_core.topics import CATALOG

from .conftest import Overlay
from .render import CHARTS, DEPLOY, find, overlays

TOPICS_FILE = CHARTS / "loom-kafka" / "files" / "topics.yaml"
ENDPOINTS = DEPLOY / "flux" / "base" / "endpoints.env"
# What each Loom release talks to, so must wait for.
NEEDS = {
    "ingest-api": {"loom-kafka", "timescaledb", "valkey"},
    "loom-dagster": {"loom-kafka", "timescaledb"},
    "dagster": {"loom-dagster", "timescaledb"},
    "trino": {"loom-kafka", "timescaledb"},
    "loom-kafka": {"strimzi-operator"},
    "timescaledb": {"cloudnative-pg"},
}


def endpoints() -> dict[str, str]:
    return dict(
        line.split("=", 1)
        for line in ENDPOINTS.read_text().splitlines()
        if line and not line.startswith("#")
    )


def test_the_topics_file_is_generated_from_the_catalog() -> None:
    assert (
        TOPICS_FILE.read_text() == kafka_topics.render()
    ), "python -m loom_cli.kafka_topics > deploy/charts/loom-kafka/files/topics.yaml"
    listed = yaml.safe_load(TOPICS_FILE.read_text())["topics"]
    assert {t["topicName"] for t in listed} == set(CATALOG)


@pytest.mark.parametrize("overlay", overlays())
def test_upstream_charts_are_pinned_and_wait_for_what_they_use(
    flux: dict[str, Overlay], overlay: str
) -> None:
    releases = {
        r["metadata"]["name"]: r for r in find(flux[overlay].objects, "HelmRelease")
    }
    for name, release in releases.items():
        spec = release["spec"]["chart"]["spec"]
        if spec["sourceRef"]["kind"] == "HelmRepository":
            assert re.fullmatch(r"\d+\.\d+\.\d+", spec["version"]), name
        for dep in release["spec"].get("dependsOn", []):
            assert dep["name"] in releases, f"{name} depends on a missing {dep}"
    for name, needs in NEEDS.items():
        assert needs <= {d["name"] for d in releases[name]["spec"]["dependsOn"]}, name


@pytest.mark.parametrize("overlay", overlays())
def test_kafka_is_kraft_with_the_catalog_topics_at_the_endpoint_address(
    flux: dict[str, Overlay], overlay: str
) -> None:
    _, objects = flux[overlay].releases["loom-kafka"]
    (kafka,) = find(objects, "Kafka")
    (pool,) = find(objects, "KafkaNodePool")
    assert set(pool["spec"]["roles"]) == {"controller", "broker"}
    assert "zookeeper" not in kafka["spec"]
    host, port = endpoints()["LOOM_KAFKA_BOOTSTRAP"].split(":")
    listener = kafka["spec"]["kafka"]["listeners"][0]
    assert host.split(".")[0] == f"{kafka['metadata']['name']}-kafka-bootstrap"
    assert int(port) == listener["port"]
    topics = {t["spec"]["topicName"]: t["spec"] for t in find(objects, "KafkaTopic")}
    assert set(topics) == set(CATALOG)
    for name, topic in CATALOG.items():
        assert topics[name]["partitions"] == topic.partitions
        assert topics[name]["config"] == topic.configs()
        assert topics[name]["replicas"] <= pool["spec"]["replicas"]


@pytest.mark.parametrize("overlay", overlays())
def test_the_addresses_are_said_once(flux: dict[str, Overlay], overlay: str) -> None:
    text = yaml.safe_dump_all(flux[overlay].rendered())
    for value in endpoints().values():
        assert text.count(value) == 1, value


def test_edge_trino_sets_no_property_twice() -> None:
    """The Trino chart writes node-scheduler.include-coordinator from server.workers."""
    for overlay in overlays():
        text = (DEPLOY / "flux" / "overlays" / overlay / "releases.yaml").read_text()
        for patch in yaml.safe_load_all(text):
            extra = patch["spec"].get("values", {}).get("additionalConfigProperties")
            assert not any(
                "include-coordinator" in line for line in extra or []
            ), overlay
