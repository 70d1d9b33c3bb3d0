"""Landing through a partition leader change: sensors, the reader, a run in flight.

The broker killed leads the partition the device's events are on; after the kill
the sensor reads watermarks, the reader reads the ranges, and a run caught in the
middle of a batch finishes (or retries): every event lands once, offsets exact.
"""

from __future__ import annotations

import threading

import pytest

from loom_cli.stack.stack import Stack
from loom_core.contracts.samples import gps_fixes
from loom_dagster.landing.ranges import load_cursor
from loom_dagster.resources import KafkaResource
from tests.cluster.conftest import kill_leader, leader_of, revive
from tests.integration.landing.conftest import (
    GPS,
    as_messages,
    cursor_at_end,
    drive,
    event_ids,
    land_job,
    pending_within,
    produce,
    ranges_of,
    tick,
)
from tests.integration.landing.test_crash_safety import _expected, _wait_mid_batch

pytestmark = pytest.mark.slow

TOPIC = GPS.topic.name


def test_sensor_watermarks_and_reader_survive_a_leader_move(
    cluster: Stack, use_stack, instance, device_id
):
    settings = cluster.settings
    use_stack(settings, recover_after_s="1", lease_s="10", read_timeout_s="10")
    cursor = cursor_at_end(settings, GPS)
    acked = produce(settings, TOPIC, as_messages(gps_fixes(device_id, 2000)))
    assert len(acked) == 2000
    (partition,) = {a.partition for a in acked}
    victim = leader_of(settings.kafka_bootstrap, TOPIC, partition)
    cluster.kill(f"kafka-{victim}")
    try:
        # At once: the metadata may still name the dead broker as the leader.
        first = tick(GPS, instance, cursor)
        assert load_cursor(first.cursor)[partition] >= max(a.offset for a in acked) + 1
        want = _expected(acked)
        cursor = drive(
            GPS,
            instance,
            cursor,
            done=lambda: (
                event_ids(settings, "gps_data", device_id) == want
                and not pending_within(settings, GPS, ranges_of(acked))
            ),
        )
        assert event_ids(settings, "gps_data", device_id) == want
        assert leader_of(settings.kafka_bootstrap, TOPIC, partition) != victim
        ends = {
            p: high
            for p, (_, high) in KafkaResource(
                bootstrap_servers=settings.kafka_bootstrap
            )
            .watermarks(TOPIC)
            .items()
        }
        assert load_cursor(cursor) == ends  # the sensor's cursor: exactly the end
    finally:
        revive(cluster, victim, TOPIC)


def test_a_run_in_flight_when_its_leader_dies_lands_once(
    cluster: Stack, use_stack, instance, device_id
):
    settings = cluster.settings
    use_stack(settings, recover_after_s="1", lease_s="10", read_timeout_s="10")
    acked = produce(settings, TOPIC, as_messages(gps_fixes(device_id, 30_000)))
    assert len(acked) == 30_000
    ranges = ranges_of(acked)
    (partition,) = {r.partition for r in ranges}
    victim = leader_of(settings.kafka_bootstrap, TOPIC, partition)

    outcome: dict[str, object] = {}
    run = threading.Thread(
        target=lambda: outcome.setdefault("result", land_job(GPS, ranges, instance))
    )
    run.start()
    try:
        _wait_mid_batch(settings.database_url)
        assert run.is_alive()
        assert kill_leader(cluster, TOPIC, partition) == victim
        run.join(timeout=300)
        assert not run.is_alive()
        result = outcome["result"]
        retried = any(
            e.event_type_value == "STEP_UP_FOR_RETRY" for e in result.all_events
        )
        assert result.success or retried, "the run neither finished nor retried"
        drive(
            GPS,
            instance,
            None,
            done=lambda: not pending_within(settings, GPS, ranges),
        )
        landed = event_ids(settings, "gps_data", device_id)
        assert len(landed) == 30_000
        assert landed == _expected(acked)
        assert not cluster.service(f"kafka-{victim}").process.running()
    finally:
        revive(cluster, victim, TOPIC)
