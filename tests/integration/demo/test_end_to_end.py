"""The demo's path end to end: HTTP -> Kafka -> Dagster -> TimescaleDB -> Trino.

``loom demo --sample short`` runs for real: it starts the ingest API and Dagster
(webserver and daemon, with their sensors), posts the short sample through the
API, waits for landing and enrichment, and prints the day from Trino. The test
then asks Trino itself what arrived, runs the demo a second time (reusing the
running platform) and checks that nothing was doubled.

Dagster gets an instance of its own (a fresh database) whose landing sensors start
at the topics' end, so it sees no runs but the test's, whatever ran on this stack
before.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
import trino

from loom_cli.demo.sample_day import generate
from loom_cli.stack import apps
from loom_cli.stack.process import free_port
from loom_core.settings import LoomSettings

DAGSTER_DB = "dagster_e2e"
# A guard against a hung run, not a speed assertion: a cold start of Dagster and
# the models on a busy 2-core machine takes minutes.
DEMO_TIMEOUT_S = 1800


def _recreate(database_url: str, name: str, *, create: bool) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if create:
            conn.execute(f'CREATE DATABASE "{name}"')


@pytest.fixture
def demo_env(settings: LoomSettings, tmp_path: Path) -> Iterator[dict[str, str]]:
    """The environment of ``loom demo``: the shared stack, a fresh Dagster."""
    _recreate(settings.database_url, DAGSTER_DB, create=True)
    home = tmp_path / "home"
    dagster_url = urlunsplit(
        urlsplit(settings.database_url)._replace(path=f"/{DAGSTER_DB}")
    )
    env = dict(os.environ) | {
        "LOOM_HOME": str(home),
        "LOOM_CACHE_DIR": str(settings.cache),
        "LOOM_KAFKA_BOOTSTRAP": settings.kafka_bootstrap,
        "LOOM_DATABASE_URL": settings.database_url,
        "LOOM_REDIS_URL": settings.redis_url,
        "LOOM_TRINO_URL": settings.trino_url,
        "LOOM_DAGSTER_DATABASE_URL": dagster_url,
        # A new platform on a Kafka that already holds other tests' events: start
        # at the end (the demo posts only after each landing sensor's first tick).
        "LOOM_LANDING_START": "latest",
    }
    yield env
    demo_settings = settings.model_copy(update={"home": home})
    apps.stop_apps(demo_settings)
    _recreate(settings.database_url, DAGSTER_DB, create=False)


def run_demo(env: dict[str, str], device_id: str, ports: tuple[int, int]) -> str:
    """Run ``loom demo --sample short``; return its output (stdout and stderr)."""
    result = subprocess.run(
        [
            str(Path(sys.executable).parent / "loom"),
            "demo",
            "--sample",
            "short",
            "--device",
            device_id,
            "--api-port",
            str(ports[0]),
            "--ui-port",
            str(ports[1]),
            "--detach",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=DEMO_TIMEOUT_S,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    return output


def ask_trino(settings: LoomSettings, device_id: str) -> dict[str, object]:
    """What Trino sees of the device's sample day."""
    url = urlsplit(settings.trino_url)
    conn = trino.dbapi.connect(
        host=url.hostname,
        port=url.port,
        user="loom-test",
        catalog="timescale",
        schema="public",
    )
    cur = conn.cursor()

    def scalar(query: str) -> object:
        cur.execute(query, [device_id])
        return cur.fetchall()[0][0]

    found = {
        table: scalar(f"SELECT count(*) FROM {table} WHERE device_id = ?")
        for table in (
            "gps_data",
            "heartrate_data",
            "audio_chunks",
            "camera_frames",
            "screenshots",
        )
    }
    cur.execute(
        "SELECT kind, place_name FROM gps_tracks WHERE device_id = ? ORDER BY time",
        [device_id],
    )
    found["segments"] = cur.fetchall()
    found["transcript"] = scalar(
        "SELECT lower(array_join(array_agg(text ORDER BY time), ' '))"
        " FROM transcripts WHERE device_id = ?"
    )
    cur.execute(
        "SELECT DISTINCT t.tag FROM captions CROSS JOIN UNNEST(tags) AS t(tag)"
        " WHERE device_id = ?",
        [device_id],
    )
    found["tags"] = {row[0] for row in cur.fetchall()}
    found["caption_rows"] = scalar("SELECT count(*) FROM captions WHERE device_id = ?")
    conn.close()
    return found


def test_the_demo_lands_and_enriches_a_day_and_a_replay_doubles_nothing(
    settings, device_id, demo_env
):
    sample = generate("short")
    ports = (free_port(), free_port())

    first = run_demo(demo_env, device_id, ports)

    assert "registered; its key is kept in" in first
    for heading in ("Distance", "Places", "Heart rate", "Speech", "Camera tags"):
        assert heading in first
    seen = ask_trino(settings, device_id)
    assert seen["gps_data"] == len(sample.fixes)
    assert seen["heartrate_data"] == len(sample.heart_rate)
    assert seen["audio_chunks"] >= 1
    assert seen["camera_frames"] == 1 + 1  # the single frame and the paired one
    assert seen["screenshots"] == 1
    kinds = [kind for kind, _ in seen["segments"]]
    assert kinds[0] == "stay"
    assert kinds[-1] == "stay"
    assert "move" in kinds
    assert all(place for kind, place in seen["segments"] if kind == "stay")
    assert {"launch", "plan"} <= set(str(seen["transcript"]).split())
    assert seen["caption_rows"] >= 3  # every frame and the screenshot
    assert seen["tags"]

    second = run_demo(demo_env, device_id, ports)

    assert "already running" in second
    assert "registered before; reusing its key" in second
    again = ask_trino(settings, device_id)
    assert again == seen
