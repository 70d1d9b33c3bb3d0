"""A broker SIGKILLed under load: devices see no 503, nothing is lost or doubled.

The broker killed is the one leading the partition the device's events go to,
so every request after the kill goes through a leader change.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from ingest_api.app import create_app
from ingest_api.settings import IngestSettings
from loom_cli.stack.stack import Stack
from loom_core import topics
from tests.cluster.conftest import leader_of, revive
from tests.integration.ingest_api.conftest import read_back, read_new, register, value
from tests.integration.ingest_api.payloads import payloads

pytestmark = pytest.mark.slow

RATE_PER_S = 40
BEFORE_S, AFTER_S = 2.0, 8.0  # posting before and after the kill


def test_a_leader_sigkilled_mid_ingest_costs_no_503_and_no_event(
    cluster: Stack, tmp_path
):
    settings = cluster.settings
    device = register(settings.database_url)
    api = IngestSettings(
        kafka_bootstrap=settings.kafka_bootstrap,
        database_url=settings.database_url,
        redis_url=settings.redis_url,
        home=settings.home,
        uploads_dir=tmp_path,
    )
    topic = topics.GPS_RAW.name
    body = payloads()["gps"]
    answers = []
    with TestClient(create_app(api)) as client:

        def post(i: int) -> None:
            recorded = datetime.now(UTC) - timedelta(minutes=10, milliseconds=i)
            sent = {**body, "recorded_at": recorded.isoformat()}
            answers.append(
                client.post("/v1/events/gps", json=sent, headers=device.headers)
            )

        post(0)
        assert answers[0].status_code == 202, answers[0].text
        partition = answers[0].json()["partition"]
        since = {partition: answers[0].json()["offset"]}
        victim = leader_of(settings.kafka_bootstrap, topic, partition)
        kill = threading.Timer(BEFORE_S, cluster.kill, [f"kafka-{victim}"])
        kill.start()
        try:
            started = time.monotonic()
            i = 1
            while time.monotonic() - started < BEFORE_S + AFTER_S:
                post(i)
                i += 1
                time.sleep(max(0.0, started + i / RATE_PER_S - time.monotonic()))
        finally:
            kill.join()
        assert not cluster.service(f"kafka-{victim}").process.running()
        new_leader = leader_of(settings.kafka_bootstrap, topic, partition)
    try:
        statuses = [a.status_code for a in answers]
        assert statuses == [202] * len(answers), [
            a.text for a in answers if a.status_code != 202
        ][:3]
        assert new_leader != victim
        acks = [a.json() for a in answers]
        sent_ids = [a["event_id"] for a in acks]
        assert len(set(sent_ids)) == len(answers) > RATE_PER_S * AFTER_S
        # Every acknowledgement points at its own event...
        landed = read_back(settings.kafka_bootstrap, acks)
        assert [value(m)["event_id"] for m in landed] == sent_ids
        # ...and the partition holds each of the device's events exactly once.
        found = read_new(settings.kafka_bootstrap, topic, since, device.device_id)
        assert sorted(v["event_id"] for v in found) == sorted(sent_ids)
    finally:
        revive(cluster, victim, topic)
