"""Trino with a worker: splits run on the worker; `loom sql` through its restart."""

from __future__ import annotations

import threading
import time

import pytest
from click.testing import CliRunner

from loom_cli.analytics import client
from loom_cli.analytics.params import bind
from loom_cli.main import cli
from loom_cli.stack.stack import Stack

pytestmark = pytest.mark.slow

COUNT = "SELECT count(*) FROM timescale.public.landing_ranges"


def _sql(cluster: Stack, query: str):
    env = {"LOOM_TRINO_URL": cluster.settings.trino_url}
    return CliRunner().invoke(cli, ["sql", query, "--format", "csv"], env=env)


def test_the_coordinator_schedules_every_task_on_its_worker(cluster: Stack):
    worker = cluster.service("trino-worker")
    conn = client.connect(cluster.settings)
    try:
        cursor = conn.cursor()
        cursor.execute(COUNT)
        cursor.fetchall()
        query_id = cursor.query_id
        nodes = client.execute(
            conn,
            bind(
                "SELECT node_id, coordinator, state FROM system.runtime.nodes",
                {},
            ),
            "query",
            cluster.settings.trino_url,
        ).rows
        tasks = client.execute(
            conn,
            bind(
                "SELECT DISTINCT node_id FROM system.runtime.tasks"
                f" WHERE query_id = '{query_id}'",
                {},
            ),
            "query",
            cluster.settings.trino_url,
        ).rows
    finally:
        conn.close()
    assert sorted(nodes) == sorted(
        [["loom-trino", True, "active"], [worker.node_id, False, "active"]]
    )
    assert tasks == [[worker.node_id]]


def test_loom_sql_answers_or_fails_in_one_line_while_the_worker_restarts(
    cluster: Stack,
):
    assert _sql(cluster, COUNT).exit_code == 0
    worker = cluster.service("trino-worker")
    restart = threading.Thread(target=cluster.restart, args=["trino-worker"])
    restart.start()
    outcomes = []
    while restart.is_alive():
        down = worker.health() is not None  # stopped, starting, or not yet listed
        result = _sql(cluster, COUNT)
        outcomes.append((down, result))
        time.sleep(0.5)
    restart.join()
    assert any(down for down, _ in outcomes), "no query ran while the worker was down"
    for _, result in outcomes:
        if result.exit_code == 0:
            _, value = result.output.split()
            assert int(value) >= 0
        else:
            assert result.exit_code == 1
            lines = [ln for ln in result.output.splitlines() if ln.strip()]
            assert len(lines) == 1, result.output
            assert lines[0].startswith("Error: "), result.output
            assert "Traceback" not in result.output
    assert _sql(cluster, COUNT).exit_code == 0  # back with its worker
