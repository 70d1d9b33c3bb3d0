"""Landing freshness: from an acknowledged produce to the row being queryable.

Runs the real thing with default settings on a private stack (Kafka + TimescaleDB
on free ports, torn down afterwards): the Dagster daemon with the repository's
dagster.yaml (QueuedRunCoordinator, default run launcher) and the landing sensors
at their default interval. GPS events are produced one at a time at a steady
rate; each one's latency is the time from its acknowledgement (``acks=all``) to
the first poll that finds its row in ``gps_data``. Baselines, measured side by
side: the produce acknowledgement itself, and a direct single-row SQL INSERT.
Prints one JSON object.

    .venv/bin/python bench/landing_freshness.py [--events 120] [--every 0.5]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import psycopg
from confluent_kafka import Producer

from loom_cli.serve import child_env, prepare_dagster_home
from loom_cli.stack.stack import Stack
from loom_core import kafka as loom_kafka
from loom_core import migrations
from loom_core.contracts import FAMILIES, GpsFix
from loom_core.settings import REPO_ROOT, LoomSettings

GPS = FAMILIES["gps"]
POLL_S = 0.1
WAIT_S = 180  # after the last event, how long to wait for the rest to land


def free_port() -> int:
    """A free TCP port on 127.0.0.1 whose successor is free too (Kafka's controller)."""
    while True:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port + 1))
            except OSError:
                continue
        return port


def private_settings(shared: LoomSettings) -> LoomSettings:
    home = shared.home / "bench-stacks" / uuid.uuid4().hex[:8]
    home.mkdir(parents=True)
    return LoomSettings(
        home=home,
        cache_dir=shared.cache,
        kafka_bootstrap=f"127.0.0.1:{free_port()}",
        database_url=f"postgresql://loom:loom@127.0.0.1:{free_port()}/loom",
        redis_url=f"redis://127.0.0.1:{free_port()}/0",
        trino_url=f"http://127.0.0.1:{free_port()}",
    )


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def summary(values: list[float]) -> dict[str, float]:
    return {
        "p50_s": round(percentile(values, 0.50), 3),
        "p95_s": round(percentile(values, 0.95), 3),
        "max_s": round(max(values), 3),
        "mean_s": round(statistics.fmean(values), 3),
    }


class Watcher(threading.Thread):
    """Polls gps_data for the bench device and records when each event appears."""

    def __init__(self, database_url: str, device_id: str) -> None:
        super().__init__(daemon=True)
        self.database_url = database_url
        self.device_id = device_id
        self.seen: dict[str, float] = {}
        self.stop = threading.Event()

    def run(self) -> None:
        with psycopg.connect(self.database_url, autocommit=True) as conn:
            while not self.stop.is_set():
                rows = conn.execute(
                    "SELECT event_id::text FROM gps_data WHERE device_id = %s",
                    (self.device_id,),
                ).fetchall()
                now = time.monotonic()
                for (event_id,) in rows:
                    self.seen.setdefault(event_id, now)
                time.sleep(POLL_S)


def produce_one(producer: Producer, event: GpsFix) -> float:
    """Produce one event and return the monotonic time of its acknowledgement."""
    acked: list[float] = []

    def report(error: object, _message: object) -> None:
        if error is not None:
            msg = f"produce failed: {error}"
            raise SystemExit(msg)
        acked.append(time.monotonic())

    producer.produce(
        GPS.topic.name,
        key=event.device_id,
        value=event.model_dump_json(),
        on_delivery=report,
    )
    producer.flush(10)
    return acked[0]


def direct_insert(database_url: str, device_id: str, count: int) -> list[float]:
    """Latency of committing one row with plain SQL, ``count`` times."""
    out = []
    with psycopg.connect(database_url, autocommit=True) as conn:
        for _ in range(count):
            started = time.monotonic()
            conn.execute(
                "INSERT INTO gps_data (time, device_id, event_id, received_at, latitude,"
                " longitude) VALUES (now(), %s, %s, now(), 1, 2)",
                (device_id, uuid.uuid4()),
            )
            out.append(time.monotonic() - started)
    return out


def start_daemon(settings: LoomSettings, log_path: Path) -> subprocess.Popen[bytes]:
    env = child_env(settings, prepare_dagster_home(settings))
    log = log_path.open("wb")
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "dagster._daemon",
            "run",
            "-w",
            str(REPO_ROOT / "workspace.yaml"),
        ],
        cwd=REPO_ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def stop_daemon(daemon: subprocess.Popen[bytes]) -> None:
    os.killpg(daemon.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        daemon.wait(timeout=30)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(daemon.pid, signal.SIGKILL)  # its code server and runs too
    daemon.wait()


def measure(settings: LoomSettings, events: int, every: float) -> dict[str, object]:
    device_id = f"bench-fresh-{uuid.uuid4().hex[:8]}"
    producer = Producer(loom_kafka.producer_config(settings.kafka_bootstrap))
    watcher = Watcher(settings.database_url, device_id)
    watcher.start()
    # Warm up: the first run also starts the daemon's code server.
    warm = GpsFix(
        device_id=device_id, recorded_at=datetime.now(UTC), latitude=0, longitude=0
    )
    warm_acked = produce_one(producer, warm)
    deadline = time.monotonic() + 300
    while str(warm.event_id) not in watcher.seen:
        if time.monotonic() > deadline:
            msg = "the warm-up event never landed (daemon log below)"
            raise SystemExit(msg)
        time.sleep(POLL_S)
    warm_up_s = watcher.seen[str(warm.event_id)] - warm_acked

    acks: dict[str, float] = {}
    produce_latency = []
    for i in range(events):
        event = GpsFix(
            device_id=device_id,
            recorded_at=datetime.now(UTC),
            latitude=10 + i * 1e-4,
            longitude=20.0,
        )
        sent = time.monotonic()
        acks[str(event.event_id)] = produce_one(producer, event)
        produce_latency.append(acks[str(event.event_id)] - sent)
        time.sleep(max(0.0, every - (time.monotonic() - sent)))
    deadline = time.monotonic() + WAIT_S
    while not set(acks) <= set(watcher.seen) and time.monotonic() < deadline:
        time.sleep(POLL_S)
    watcher.stop.set()
    watcher.join()
    missing = set(acks) - set(watcher.seen)
    latencies = [watcher.seen[e] - acks[e] for e in acks if e in watcher.seen]
    sql = direct_insert(settings.database_url, f"{device_id}-sql", 50)
    return {
        "benchmark": "landing_freshness",
        "events": events,
        "every_s": every,
        "landed": len(latencies),
        f"not_landed_within_{WAIT_S}_s": len(missing),
        "warm_up_s": round(warm_up_s, 3),
        "ack_to_queryable": summary(latencies) if latencies else None,
        "baseline_produce_ack": summary(produce_latency),
        "baseline_direct_sql_insert": summary(sql),
        "poll_interval_s": POLL_S,
        "load_avg_1m": round(os.getloadavg()[0], 2),
        "cpus": os.cpu_count(),
        "target_p95_s": 30,
        "met": bool(latencies) and not missing and percentile(latencies, 0.95) <= 30,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=120)
    parser.add_argument(
        "--every", type=float, default=0.5, help="seconds between events"
    )
    parser.add_argument(
        "--log", type=Path, default=None, help="keep the Dagster daemon's log here"
    )
    args = parser.parse_args()
    settings = private_settings(LoomSettings())
    stack = Stack(settings)
    daemon = None
    try:
        stack.up(["postgres", "kafka"])
        migrations.apply(settings.database_url)
        log_path = args.log or settings.home / "dagster-daemon.log"
        daemon = start_daemon(settings, log_path)
        result = measure(settings, args.events, args.every)
    except BaseException:
        log = args.log or settings.home / "dagster-daemon.log"
        if log.exists():
            sys.stderr.write(log.read_text()[-5000:])
        raise
    finally:
        if daemon is not None:
            stop_daemon(daemon)
        stack.down()
        shutil.rmtree(settings.home, ignore_errors=True)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
