"""Crash safety: kill a run mid-batch, restart PostgreSQL, stop and restart Kafka.

After recovery the rows equal the acknowledged events exactly: none lost, none
twice. Servers that are restarted belong to a private stack; the SIGKILLed run is
a real `dagster job execute` subprocess of our own against the shared stack.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import psycopg
import pytest

from loom_core import migrations
from loom_core.contracts.samples import gps_fixes
from loom_core.settings import REPO_ROOT
from tests.integration.landing.conftest import (
    GPS,
    Acked,
    as_messages,
    cursor_at_end,
    drive,
    event_ids,
    land_job,
    pending_within,
    produce,
    ranges_of,
    rows_of,
    tick,
)

pytestmark = pytest.mark.slow

BATCH = 30_000  # large enough that a run is caught in the middle of it
# The statements of a chunk's upsert (loom_dagster.landing.upsert), as
# pg_stat_activity shows them while they run and until the next one starts.
UPSERTING = [
    'COPY "loom_landing_staging"%',
    'COPY "gps_data"%',  # the fast path's new rows, straight into the table
    "SAVEPOINT%",
    'INSERT INTO "gps_data"%',
    "RELEASE%",
    "SELECT r.n,%",
    "WITH x AS%",
    "TRUNCATE%",
]


def _expected(acked: list[Acked]) -> list[uuid.UUID]:
    return sorted(uuid.UUID(json.loads(a.value)["event_id"]) for a in acked)


def _wait_mid_batch(database_url: str, timeout_s: float = 120.0, **where: str) -> None:
    """Block until a backend is inside a landing transaction, upserting."""
    clause = " AND ".join(f"{column} = %({column})s" for column in where) or "true"
    deadline = time.monotonic() + timeout_s
    with psycopg.connect(database_url, autocommit=True) as conn:
        while time.monotonic() < deadline:
            busy = conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE xact_start IS NOT NULL"
                f" AND query LIKE ANY(%(upserting)s) AND {clause}",
                {"upserting": UPSERTING, **where},
            ).fetchone()[0]
            if busy:
                return
            time.sleep(0.02)
    pytest.fail("the landing run never reached its upsert")


def _wait_backend_gone(database_url: str, application_name: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        for _ in range(500):
            if not conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s",
                (application_name,),
            ).fetchone()[0]:
                return
            time.sleep(0.02)
    pytest.fail("the killed run's database session did not end")


def test_a_run_killed_mid_batch_lands_nothing_then_recovery_lands_all_once(
    shared, instance, device_id, use_stack, tmp_path
):
    use_stack(shared, recover_after_s="1")
    acked = produce(shared, GPS.topic.name, as_messages(gps_fixes(device_id, BATCH)))
    assert len(acked) == BATCH
    cursor = cursor_at_end(shared, GPS)
    ranges = ranges_of(acked)
    config = tmp_path / "run.yaml"  # JSON is YAML
    config.write_text(
        json.dumps(
            {
                "ops": {
                    "gps_data": {
                        "config": {
                            "ranges": [
                                {
                                    "partition": r.partition,
                                    "start": r.start,
                                    "end": r.end,
                                }
                                for r in ranges
                            ]
                        }
                    }
                }
            }
        )
    )
    marker = f"loom-test-{uuid.uuid4().hex[:8]}"
    env = {
        **os.environ,
        "DAGSTER_HOME": str(tmp_path),
        "PGAPPNAME": marker,  # libpq names the run's database sessions
        "LOOM_LANDING_LEASE_S": "10",
    }
    run = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "dagster"),
            "job",
            "execute",
            "-m",
            "loom_dagster.definitions",
            "-j",
            "land_gps_data",
            "-c",
            str(config),
        ],
        cwd=REPO_ROOT,
        env=env,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_mid_batch(shared.database_url, application_name=marker)
    finally:
        os.killpg(run.pid, signal.SIGKILL)
        run.wait()
    assert run.returncode == -signal.SIGKILL
    _wait_backend_gone(shared.database_url, marker)

    # Nothing of the interrupted transaction is visible; the range is unlanded.
    assert rows_of(shared, "gps_data", device_id) == []
    assert pending_within(shared, GPS, ranges)

    time.sleep(10)  # the dead run's lease on its ranges runs out
    drive(GPS, instance, cursor, done=lambda: not pending_within(shared, GPS, ranges))
    landed = event_ids(shared, "gps_data", device_id)
    assert len(landed) == BATCH
    assert landed == _expected(acked)


def _migrated(private_stack, *services):
    stack = private_stack(*services)
    migrations.apply(stack.settings.database_url)
    return stack


def test_postgres_restarting_mid_batch_loses_and_doubles_nothing(
    private_stack, use_stack, instance, device_id
):
    stack = _migrated(private_stack, "kafka", "postgres")
    use_stack(stack.settings, recover_after_s="1", lease_s="10")
    acked = produce(
        stack.settings, GPS.topic.name, as_messages(gps_fixes(device_id, BATCH))
    )
    assert len(acked) == BATCH
    ranges = ranges_of(acked)

    outcome: dict[str, object] = {}
    run = threading.Thread(
        target=lambda: outcome.setdefault("result", land_job(GPS, ranges, instance))
    )
    run.start()
    _wait_mid_batch(stack.settings.database_url)
    stack.restart("postgres")
    run.join(timeout=300)
    assert not run.is_alive()

    result = outcome["result"]
    retried = any(e.event_type_value == "STEP_UP_FOR_RETRY" for e in result.all_events)
    assert retried or not result.success, "the restart interrupted the first attempt"
    # Whatever the in-run retries achieved, the sensor finishes the job.
    drive(
        GPS,
        instance,
        None,
        done=lambda: not pending_within(stack.settings, GPS, ranges),
    )
    landed = event_ids(stack.settings, "gps_data", device_id)
    assert len(landed) == BATCH
    assert landed == _expected(acked)


def test_kafka_stopped_and_restarted_loses_and_doubles_nothing(
    private_stack, use_stack, instance, device_id
):
    stack = _migrated(private_stack, "kafka", "postgres")
    use_stack(stack.settings, recover_after_s="1", lease_s="10", read_timeout_s="5")
    fixes = gps_fixes(device_id, 3000)
    before = produce(stack.settings, GPS.topic.name, as_messages(fixes[:1000]))
    assert len(before) == 1000

    stack.down(["kafka"])
    during = produce(stack.settings, GPS.topic.name, as_messages(fixes[1000:1050]))
    assert during == [], "nothing is acknowledged while the broker is down"
    with pytest.raises(RuntimeError, match="is the broker up"):
        tick(GPS, instance, None)

    outcome: dict[str, object] = {}
    run = threading.Thread(
        target=lambda: outcome.setdefault(
            "result", land_job(GPS, ranges_of(before), instance)
        )
    )
    run.start()
    time.sleep(4)
    stack.up(["kafka"])
    run.join(timeout=300)
    assert not run.is_alive()
    result = outcome["result"]
    retried = any(e.event_type_value == "STEP_UP_FOR_RETRY" for e in result.all_events)
    assert retried or not result.success, "the outage failed the first attempt"

    after = produce(stack.settings, GPS.topic.name, as_messages(fixes[1050:]))
    assert len(after) == 1950
    acked = before + during + after
    want = _expected(acked)
    drive(
        GPS,
        instance,
        None,
        done=lambda: (
            event_ids(stack.settings, "gps_data", device_id) == want
            and not pending_within(stack.settings, GPS, ranges_of(acked))
        ),
    )
    assert event_ids(stack.settings, "gps_data", device_id) == want
    assert len(want) == len(set(want)) == 2950


def test_retention_drops_only_expired_chunks(
    private_stack, use_stack, instance, device_id
):
    stack = _migrated(private_stack, "postgres")
    use_stack(stack.settings)
    ages = {"old": 400, "recent": 10, "today": 0}
    with psycopg.connect(stack.settings.database_url) as conn:
        for age in ages.values():
            conn.execute(
                "INSERT INTO gps_data (time, device_id, event_id, received_at, latitude,"
                " longitude) VALUES (now() - make_interval(days => %s), %s, %s, now(), 1, 2)",
                (age, device_id, uuid.uuid4()),
            )
        for age in (40, 1):
            conn.execute(
                "INSERT INTO landing_ranges (topic, kafka_partition, start_offset,"
                " end_offset, landed_at) VALUES (%s, 0, %s, %s,"
                " now() - make_interval(days => %s))",
                (GPS.topic.name, age, age + 1, age),
            )
    from loom_dagster.definitions import defs  # noqa: PLC0415

    result = defs.resolve_job_def("landing_retention").execute_in_process(
        run_config={
            "ops": {
                "drop_expired_chunks": {
                    "config": {"days": {"gps": 30}, "ranges_keep_days": 30}
                }
            }
        },
        instance=instance,
    )
    assert result.success
    rows = rows_of(stack.settings, "gps_data", device_id)
    assert len(rows) == 2  # the 400-day-old chunk is gone, the others stay
    observations = [
        e.event_specific_data.asset_observation
        for e in result.all_events
        if e.event_type_value == "ASSET_OBSERVATION"
    ]
    (gps,) = [o for o in observations if o.asset_key.path == ["gps_data"]]
    assert gps.metadata["chunks_dropped"].value == 1
    assert gps.metadata["retention_days"].value == 30
    with psycopg.connect(stack.settings.database_url) as conn:
        kept = conn.execute("SELECT start_offset FROM landing_ranges").fetchall()
    assert kept == [(1,)]


def test_unknown_family_in_retention_config_fails_clearly(shared, instance):
    from loom_dagster.definitions import defs  # noqa: PLC0415

    result = defs.resolve_job_def("landing_retention").execute_in_process(
        run_config={"ops": {"drop_expired_chunks": {"config": {"days": {"gsp": 3}}}}},
        instance=instance,
        raise_on_error=False,
    )
    assert not result.success
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    assert "unknown families ['gsp']" in failure.event_specific_data.error.message
