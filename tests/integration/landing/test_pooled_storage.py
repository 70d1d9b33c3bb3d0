"""Dagster's storage as ``dagster.yaml`` configures it, on the stack's PostgreSQL.

The storages keep their connections (``loom_dagster.pooled_storage``); these tests
count the connections they open, kill them under their feet, fork, and dispose.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from typing import Any

import dagster as dg
import psycopg
import pytest
import sqlalchemy as sa
import yaml

from loom_core.settings import REPO_ROOT, LoomSettings
from loom_dagster.dagster_internals import storage_engine
from loom_dagster.pooled_storage import POOL_SIZE, PooledPostgresEventLogStorage

STORAGES = ("run_storage", "event_log_storage", "schedule_storage")


@pytest.fixture
def database(settings: LoomSettings, stack: object) -> Iterator[str]:
    """A scratch database for Dagster; returns its SQLAlchemy URL."""
    name = f"dagster_pool_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(settings.database_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = settings.database_url.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}".replace("postgresql://", "postgresql+psycopg2://")
    finally:
        with psycopg.connect(settings.database_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _storages(database: str) -> dict[str, Any]:
    """The repository's storage sections of ``dagster.yaml``, on ``database``."""
    config = yaml.safe_load((REPO_ROOT / "dagster.yaml").read_text())
    return {
        key: {**config[key], "config": {"postgres_url": database}} for key in STORAGES
    }


@pytest.fixture
def instance(database: str) -> Iterator[dg.DagsterInstance]:
    with dg.instance_for_test(overrides=_storages(database)) as the_instance:
        yield the_instance


def _connections_opened(engine: sa.engine.Engine) -> list[int]:
    opened = [0]

    def count(*_: object) -> None:
        opened[0] += 1

    sa.event.listen(engine, "connect", count)
    return opened


def _backends(settings: LoomSettings, database: str) -> list[int]:
    name = database.rsplit("/", 1)[1]
    with psycopg.connect(settings.database_url) as conn:
        rows = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s", (name,)
        ).fetchall()
    return [pid for (pid,) in rows]


def _write_events(instance: dg.DagsterInstance, run_id: str, count: int) -> None:
    for n in range(count):
        instance.report_engine_event(f"event {n}", dg.DagsterRun("job", run_id))


def _backend_pid(storage: PooledPostgresEventLogStorage) -> int:
    with storage_engine(storage).connect() as conn:
        return conn.execute(sa.text("SELECT pg_backend_pid()")).scalar_one()


def test_the_storages_are_the_pooled_ones_and_keep_their_connections(instance):
    storage = instance.event_log_storage
    assert isinstance(storage, PooledPostgresEventLogStorage)
    assert type(instance.run_storage).__name__ == "PooledPostgresRunStorage"
    opened = _connections_opened(storage_engine(storage))
    run_id = str(uuid.uuid4())

    _write_events(instance, run_id, 20)

    assert len(instance.all_logs(run_id)) == 20
    assert 1 <= opened[0] <= POOL_SIZE  # dagster-postgres alone: one per event


def test_connections_the_server_killed_are_replaced(settings, database, instance):
    run_id = str(uuid.uuid4())
    _write_events(instance, run_id, 2)
    killed = _backends(settings, database)
    assert killed
    with psycopg.connect(settings.database_url, autocommit=True) as conn:
        for pid in killed:
            conn.execute("SELECT pg_terminate_backend(%s)", (pid,))

    _write_events(instance, run_id, 2)  # as after a PostgreSQL restart

    assert len(instance.all_logs(run_id)) == 4
    assert _backend_pid(instance.event_log_storage) not in killed


def test_a_forked_child_connects_on_its_own(instance):
    storage = instance.event_log_storage
    parent = _backend_pid(storage)
    reader, writer = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: answer with the backend it used, never return
        code = 1
        try:
            os.write(writer, str(_backend_pid(storage)).encode())
            code = 0
        finally:
            os._exit(code)
    os.close(writer)
    child = int(os.read(reader, 32))
    os.close(reader)
    _, status = os.waitpid(pid, 0)

    assert os.waitstatus_to_exitcode(status) == 0
    assert child != parent
    assert _backend_pid(storage) == parent  # the child left the parent's alone


def test_disposing_the_instance_closes_its_connections(settings, database):
    with dg.instance_for_test(overrides=_storages(database)) as instance:
        _write_events(instance, str(uuid.uuid4()), 3)
        instance.schedule_storage.dispose()  # the instance leaves it to its owner
        assert _backends(settings, database)

    assert _backends(settings, database) == []
