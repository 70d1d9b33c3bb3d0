"""Broker-kill drill: steady posting while a Kafka broker is SIGKILLed.

The same drill, side by side, on a private single-node stack and on a private
local cluster (3 brokers, replication 3, ``min.insync.replicas=2``; see
``loom stack up --cluster``). In each round the real ingest API (uvicorn) takes
GPS events at a steady rate from several devices; after ``--kill-at`` seconds the
broker leading the first device's partition is SIGKILLed, and started again
``--down`` seconds later. Reported per target, over ``--rounds`` rounds:

* ``status_503`` (and any other non-202 answers),
* ack latency percentiles of the 202 answers (what a device waits),
* ``lost``: acknowledged events not in Kafka at their acknowledged offset, and
  ``doubled``: events the partitions hold more than once,
* ``catch_up_s``: once posting ended and the broker is back, how long the
  landing job (the real Dagster job, in process; rerun until done) takes to have
  every acknowledged event in ``gps_data``.

Both stacks run at once and the rounds alternate between them (single node,
cluster, single node, ...), so a busy moment of the shared machine hits both.

Prints one JSON object.

    .venv/bin/python bench/broker_kill_drill.py [--rate 100] [--seconds 30]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
import httpx
import psycopg
from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.admin import AdminClient

from ingest_api import registry
from loom_cli.demo.platform import api_ready
from loom_cli.stack.cluster import PORT_SPAN, ClusterLayout
from loom_cli.stack.process import free_port
from loom_cli.stack.stack import Stack, private_settings
from loom_core import migrations, topics
from loom_core.contracts import FAMILIES
from loom_core.kafka import consumer_config
from loom_core.settings import LoomSettings
from loom_dagster.defs.landing.jobs import run_config
from loom_dagster.landing.ranges import OffsetRange

ROOT = Path(__file__).resolve().parent.parent
TOPIC = topics.GPS_RAW.name
GPS = FAMILIES["gps"]
DEVICES = 8
LAND_TIMEOUT_S = 180


@contextmanager
def single_node(shared: LoomSettings, home: Path) -> Iterator[Stack]:
    """A private single-node stack (Kafka, PostgreSQL, Redis), removed afterwards."""
    stack = Stack(private_settings(shared, home))
    try:
        stack.up(["postgres", "redis", "kafka"])
        yield stack
    finally:
        stack.down()


@contextmanager
def cluster(shared: LoomSettings, home: Path) -> Iterator[Stack]:
    """A private cluster without Trino (3 brokers, 3 controllers), removed afterwards."""
    layout = ClusterLayout(base_port=free_port(span=PORT_SPAN))
    stack = Stack.cluster(LoomSettings(home=home, cache_dir=shared.cache), layout)
    try:
        stack.up([s.name for s in stack.services if not s.name.startswith("trino")])
        yield stack
    finally:
        stack.down()


@contextmanager
def ingest_api(settings: LoomSettings) -> Iterator[str]:
    """The real ingest API (one uvicorn worker) against ``settings``; its URL."""
    port = free_port()
    env = {
        **os.environ,
        "LOOM_KAFKA_BOOTSTRAP": settings.kafka_bootstrap,
        "LOOM_DATABASE_URL": settings.database_url,
        "LOOM_REDIS_URL": settings.redis_url,
        "LOOM_HOME": str(settings.home),
    }
    argv = [sys.executable, "-m", "uvicorn", "ingest_api.app:create_app", "--factory"]
    process = subprocess.Popen(
        [*argv, "--port", str(port), "--no-access-log", "--log-level", "error"],
        cwd=ROOT,
        env=env,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        not_ready, deadline = api_ready(url), time.monotonic() + 120
        while (reason := not_ready()) is not None:
            if time.monotonic() > deadline:
                msg = f"the ingest API did not become ready within 120 s ({reason})"
                raise RuntimeError(msg)
            time.sleep(0.3)
        yield url
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(30)


def leader_of(bootstrap: str, partition: int) -> int:
    """Return the broker id leading ``partition`` of the GPS topic."""
    metadata = AdminClient({"bootstrap.servers": bootstrap}).list_topics(
        TOPIC, timeout=10
    )
    return metadata.topics[TOPIC].partitions[partition].leader


def broker_name(stack: Stack, broker: int) -> str:
    """The stack's name of broker ``broker`` (``kafka`` on the single node)."""
    names = {s.name for s in stack.services}
    return f"kafka-{broker}" if f"kafka-{broker}" in names else "kafka"


async def post_steadily(
    url: str,
    devices: list[tuple[str, str]],
    rate: float,
    seconds: float,
    on_time: list[tuple[float, object]],
) -> list[tuple[int, float, float, dict | None]]:
    """Post one GPS event every ``1/rate`` s for ``seconds``; call ``on_time`` hooks.

    Each request is sent on schedule whether or not earlier ones were answered
    (a device does not wait for another). Returns ``(status, sent at, seconds,
    body)`` per request, ``sent at`` counted from the start.
    """
    results: list[tuple[int, float, float, dict | None]] = []
    start_at = datetime.now(UTC) - timedelta(hours=2)
    limits = httpx.Limits(max_connections=1000, max_keepalive_connections=1000)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=30) as client:

        async def one(i: int) -> None:
            _, key = devices[i % len(devices)]
            body = {
                "recorded_at": (start_at + timedelta(milliseconds=i)).isoformat(),
                "latitude": 48.0,
                "longitude": 2.0,
                "source": "drill",
            }
            sent = time.perf_counter()
            at = sent - started
            try:
                answer = await client.post(
                    "/v1/events/gps",
                    json=body,
                    headers={"Authorization": f"Bearer {key}"},
                )
            except httpx.HTTPError:
                results.append((0, at, time.perf_counter() - sent, None))
                return
            elapsed = time.perf_counter() - sent
            ok = answer.status_code == 202
            body = answer.json() if ok else None
            results.append((answer.status_code, at, elapsed, body))

        hooks = sorted(on_time, key=lambda h: h[0])
        tasks = []
        started = time.perf_counter()
        count = int(rate * seconds)
        loop = asyncio.get_running_loop()
        for i in range(count):
            delay = started + i / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            while hooks and time.perf_counter() - started >= hooks[0][0]:
                _, hook = hooks.pop(0)
                loop.run_in_executor(None, hook)
            tasks.append(asyncio.create_task(one(i)))
        await asyncio.gather(*tasks)
    return results


def read_partitions(bootstrap: str, since: dict[int, int], ids: set[str]) -> Counter:
    """Count how often each of ``ids`` is in the GPS topic after ``since``."""
    consumer = Consumer(consumer_config(bootstrap, f"drill-{uuid.uuid4().hex[:8]}"))
    ends = {
        p: consumer.get_watermark_offsets(TopicPartition(TOPIC, p), timeout=10)[1]
        for p in since
    }
    pending = {p for p in since if ends[p] > since[p]}
    consumer.assign([TopicPartition(TOPIC, p, since[p]) for p in pending])
    seen: Counter = Counter()
    deadline = time.monotonic() + 60
    try:
        while pending and time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is None or message.error() is not None:
                continue
            event_id = json.loads(message.value())["event_id"]
            if event_id in ids:
                seen[event_id] += 1
            if message.offset() >= ends[message.partition()] - 1:
                pending.discard(message.partition())
    finally:
        consumer.close()
    return seen


def land_until_caught_up(
    settings: LoomSettings, ranges: list[OffsetRange], want: set[str]
) -> float:
    """Run the landing job on ``ranges`` until every id of ``want`` is a row; seconds."""
    os.environ["LOOM_DATABASE_URL"] = settings.database_url
    os.environ["LOOM_KAFKA_BOOTSTRAP"] = settings.kafka_bootstrap
    from loom_dagster.definitions import defs  # noqa: PLC0415 - after the env is set

    job = defs.resolve_job_def("land_gps_data")
    started = time.monotonic()
    with dg.instance_for_test() as instance:
        while time.monotonic() - started < LAND_TIMEOUT_S:
            job.execute_in_process(
                run_config=run_config(GPS, ranges),
                instance=instance,
                raise_on_error=False,
            )
            with psycopg.connect(settings.database_url) as conn:
                landed = conn.execute(
                    "SELECT count(*) FROM gps_data WHERE event_id = ANY(%s::uuid[])",
                    (list(want),),
                ).fetchone()[0]
            if landed == len(want):
                return round(time.monotonic() - started, 2)
            time.sleep(1)
    return float("nan")


def percentile(values: list[float], q: float) -> float:
    """The ``q`` quantile (0-1) of ``values``, nearest rank, in milliseconds."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 1)


def drill_round(stack: Stack, args: argparse.Namespace) -> dict:
    """One round: post, kill the first device's leader, revive it, count, land."""
    settings = stack.settings
    with psycopg.connect(settings.database_url) as conn:
        devices = []
        for _ in range(DEVICES):
            device_id = f"drill-{uuid.uuid4().hex[:10]}"
            device, key = registry.add(conn, f"drill {device_id}", device_id)
            devices.append((device.device_id, key))
    admin = AdminClient({"bootstrap.servers": settings.kafka_bootstrap})
    partitions = admin.list_topics(TOPIC, timeout=10).topics[TOPIC].partitions
    probe = Consumer(consumer_config(settings.kafka_bootstrap, "drill-marks"))
    since = {
        p: probe.get_watermark_offsets(TopicPartition(TOPIC, p), timeout=10)[1]
        for p in partitions
    }
    probe.close()
    with ingest_api(settings) as url:
        # The first device's partition: a warm-up event tells it.
        first = asyncio.run(post_steadily(url, devices[:1], 10, 0.1, []))
        partition = first[0][3]["partition"]
        victim = broker_name(stack, leader_of(settings.kafka_bootstrap, partition))
        hooks = [
            (args.kill_at, lambda: stack.kill(victim)),
            (args.kill_at + args.down, lambda: stack.up([victim])),
        ]
        results = asyncio.run(
            post_steadily(url, devices, args.rate, args.seconds, hooks)
        )
    stack.up([victim])  # in case the posting ended before the revival hook
    acked = [body for status, _, _, body in results if status == 202]
    ids = {body["event_id"] for body in acked}
    seen = read_partitions(settings.kafka_bootstrap, since, ids)
    spans: dict[int, tuple[int, int]] = {}
    for body in acked:
        low, high = spans.get(body["partition"], (body["offset"], body["offset"] + 1))
        spans[body["partition"]] = (
            min(low, body["offset"]),
            max(high, body["offset"] + 1),
        )
    ranges = [OffsetRange(p, s, e) for p, (s, e) in sorted(spans.items())]
    catch_up = land_until_caught_up(settings, ranges, ids)
    statuses = Counter(status for status, _, _, _ in results)
    revived = args.kill_at + args.down

    def acked_within(low: float, high: float) -> list[float]:
        return [s for status, at, s, _ in results if status == 202 and low <= at < high]

    latencies = acked_within(0, float("inf"))
    return {
        "posted": len(results),
        "acked": len(acked),
        "status_503": statuses.get(503, 0),
        "other_errors": sum(n for s, n in statuses.items() if s not in (202, 503)),
        "p50_ms": percentile(latencies, 0.50),
        "p99_ms": percentile(latencies, 0.99),
        "max_ms": percentile(latencies, 1.0),
        # Sent before the kill, while the broker was down, after its restart began
        # (its JVM start competes for the machine's CPU).
        "p99_ms_before_kill": percentile(acked_within(0, args.kill_at), 0.99),
        "p99_ms_broker_down": percentile(acked_within(args.kill_at, revived), 0.99),
        "p99_ms_after_restart": percentile(acked_within(revived, float("inf")), 0.99),
        "lost": sum(1 for i in ids if seen[i] == 0),
        "doubled": sum(1 for i in ids if seen[i] > 1),
        "catch_up_s": catch_up,
        "killed": victim,
    }


def main() -> None:
    """Run the drill on both targets, side by side, and print JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=100, help="events per second")
    parser.add_argument("--seconds", type=float, default=30, help="posting per round")
    parser.add_argument("--kill-at", type=float, default=8, help="s into posting")
    parser.add_argument("--down", type=float, default=6, help="s until the restart")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    shared = LoomSettings()
    root = shared.home / "test-stacks" / f"drill-{uuid.uuid4().hex[:8]}"
    out: dict = {
        "bench": "broker_kill_drill",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "rate_per_s": args.rate,
        "seconds": args.seconds,
        "kill_at_s": args.kill_at,
        "down_s": args.down,
        "devices": DEVICES,
        "load_before": [round(x, 1) for x in os.getloadavg()],
    }
    try:
        with (
            single_node(shared, root / "single") as one,
            cluster(shared, root / "cluster") as three,
        ):
            targets = {"single_node": one, "cluster": three}
            for stack in targets.values():
                migrations.apply(stack.settings.database_url)
            for _ in range(args.rounds):
                for name, stack in targets.items():
                    out.setdefault(name, []).append(drill_round(stack, args))
    finally:
        shutil.rmtree(root, ignore_errors=True)
    out["load_after"] = [round(x, 1) for x in os.getloadavg()]
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
