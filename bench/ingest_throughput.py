"""Ingest API throughput beside its baselines, measured in one run; prints JSON.

    .venv/bin/python bench/ingest_throughput.py [--events 20000] [--requests 4000] [--rounds 3]

(a) the raw confluent-kafka producer sending the same GPS events with the same
settings (``loom_core.kafka.producer_config``); (b) ``POST /v1/events:batch`` with
100 GPS events per request; (c) single-event ``POST /v1/events/gps`` at
concurrency 32; (d) a no-op FastAPI endpoint at concurrency 32. The servers run
on one uvicorn worker each (access log off for both); the load comes from a
minimal keep-alive HTTP/1.1 client, so it costs the server's CPU as little as
possible. (a)-(d) run in turn for several rounds; the JSON has every round and
the medians. Targets: (b) >= 0.25 x (a) events/s; (c) >= 0.5 x (d) requests/s.
Needs the local stack (``loom stack up``); posts as a registered bench device,
revoked at the end.
"""

import argparse
import asyncio
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Self

import httpx
import psycopg
from confluent_kafka import Producer
from timing import median_of, process_cpu_s

from ingest_api import registry
from ingest_api.server import PROTOCOL
from loom_cli.stack.process import free_port
from loom_core import migrations, topics
from loom_core.contracts import GpsFix
from loom_core.kafka import producer_config
from loom_core.settings import LoomSettings

ROOT = Path(__file__).resolve().parent.parent
BATCH = 100
TARGET_BATCH, TARGET_SINGLE = 0.25, 0.5


def gps_bodies(count: int, start: datetime) -> list[dict]:
    """Distinct GPS events (distinct times, so distinct derived ids)."""
    return [
        {
            "recorded_at": (start + timedelta(milliseconds=i)).isoformat(),
            "latitude": 52.5 + (i % 1000) / 1e5,
            "longitude": 13.4 + (i % 777) / 1e5,
            "accuracy_m": 5.0,
            "speed_mps": 1.2,
            "battery_level": 0.8,
        }
        for i in range(count)
    ]


def summary(latencies: list[float], elapsed: float, count: int, errors: int) -> dict:
    ordered = sorted(latencies)
    return {
        "count": count,
        "seconds": round(elapsed, 3),
        "per_s": round(count / elapsed, 1),
        "p50_ms": round(statistics.median(ordered) * 1000, 2),
        "p99_ms": round(ordered[max(0, int(len(ordered) * 0.99) - 1)] * 1000, 2),
        "errors": errors,
    }


# -- (a) the raw producer ---------------------------------------------------------------
def raw_producer(bootstrap: str, device_id: str, bodies: list[dict]) -> dict:
    """Produce pre-serialised events as fast as the client allows; wait for acks."""
    values = [
        GpsFix(device_id=device_id, source="bench", **body).model_dump_json().encode()
        for body in bodies
    ]
    producer = Producer(producer_config(bootstrap))
    producer.list_topics(timeout=5)  # connected before the clock starts
    latencies: list[float] = []
    errors = 0

    def delivered(err: object, sent: float) -> None:
        nonlocal errors
        if err is None:
            latencies.append(time.perf_counter() - sent)
        else:
            errors += 1

    key = device_id.encode()
    cpu = time.process_time()
    started = time.perf_counter()
    for value in values:
        sent = time.perf_counter()
        while True:
            try:
                producer.produce(
                    topics.GPS_RAW.name,
                    value,
                    key,
                    on_delivery=lambda err, _, sent=sent: delivered(err, sent),
                )
                break
            except BufferError:
                producer.poll(0.01)
        producer.poll(0)
    producer.flush(30)
    result = summary(latencies, time.perf_counter() - started, len(values), errors)
    result["cpu_us_per_event"] = round(
        (time.process_time() - cpu) / len(values) * 1e6, 1
    )
    return result


# -- a minimal HTTP/1.1 keep-alive load generator -------------------------------------------
async def _worker(
    port: int, requests: list[bytes], next_index: list[int], out: dict
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while next_index[0] < len(requests):
            request = requests[next_index[0]]
            next_index[0] += 1
            sent = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            await reader.readexactly(length)
            out["latencies"].append(time.perf_counter() - sent)
            if not head.startswith(b"HTTP/1.1 2"):
                out["errors"] += 1
    finally:
        writer.close()


def post(path: str, body: bytes, key: str) -> bytes:
    """Return one pre-encoded HTTP/1.1 request."""
    return (
        f"POST {path} HTTP/1.1\r\nHost: bench\r\nAuthorization: Bearer {key}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode() + body


def load(port: int, requests: list[bytes], concurrency: int) -> tuple[dict, float]:
    """Send ``requests`` over ``concurrency`` connections; return results, seconds."""
    out: dict = {"latencies": [], "errors": 0}
    next_index = [0]

    async def run() -> float:
        started = time.perf_counter()
        await asyncio.gather(
            *(_worker(port, requests, next_index, out) for _ in range(concurrency))
        )
        return time.perf_counter() - started

    return out, asyncio.run(run())


class Server:
    """One uvicorn worker serving ``target`` on a free port."""

    def __init__(self, target: str, *, factory: bool) -> None:
        self.port = free_port()
        argv = [
            sys.executable,
            "-m",
            "uvicorn",
            target,
            "--port",
            str(self.port),
            "--workers",
            "1",
            "--no-access-log",
            "--log-level",
            "warning",
        ]
        if factory:  # the ingest API, served as `loom api` serves it
            argv += ["--factory", "--http", PROTOCOL]
        self.process = subprocess.Popen(argv, cwd=ROOT, env=os.environ.copy())

    def __enter__(self) -> Self:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                httpx.get(f"http://127.0.0.1:{self.port}/docs", timeout=1)
            except httpx.TransportError:
                time.sleep(0.2)
            else:
                return self
        msg = "the server did not start within 120 s"
        raise RuntimeError(msg)

    def __exit__(self, *_: object) -> None:
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(30)


def measure(
    server: "Server", requests: list[bytes], concurrency: int, per_request: int
) -> dict:
    """Warm up with a slice of the requests, then time all of them.

    Besides wall-clock rates, reports the server's own CPU time per event: on a
    shared machine that is the steadier figure.
    """
    warm_up = requests[: max(concurrency * 4, len(requests) // 20)]
    load(server.port, warm_up, concurrency)
    cpu = process_cpu_s(server.process.pid)
    out, elapsed = load(server.port, requests, concurrency)
    server_cpu = process_cpu_s(server.process.pid) - cpu
    events = len(requests) * per_request
    result = summary(out["latencies"], elapsed, len(requests), out["errors"])
    result["events_per_s"] = round(events / elapsed, 1)
    result["concurrency"] = concurrency
    result["server_cpu_us_per_event"] = round(server_cpu / events * 1e6, 1)
    return result


def workload(key: str, start: datetime, events: int, requests: int) -> dict:
    """Pre-encoded requests of one round (times unique to the round)."""
    bodies = gps_bodies(events, start)
    return {
        "raw": gps_bodies(events, start - timedelta(hours=1)),
        "batch": [
            post(
                "/v1/events:batch",
                json.dumps(
                    {"events": [{"family": "gps", **b} for b in bodies[i : i + BATCH]]}
                ).encode(),
                key,
            )
            for i in range(0, events, BATCH)
        ],
        "single": [
            post("/v1/events/gps", json.dumps(b).encode(), key)
            for b in gps_bodies(requests, start - timedelta(hours=2))
        ],
        "noop": [
            post("/noop", json.dumps(b).encode(), key)
            for b in gps_bodies(requests, start)
        ],
    }


def target(ratios: list[float], wanted: float) -> dict:
    ratio = statistics.median(ratios)
    return {
        "median_ratio": round(ratio, 3),
        "per_round": [round(r, 3) for r in ratios],
        "target": wanted,
        "met": ratio >= wanted,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--requests", type=int, default=4_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--batch-concurrency", type=int, default=8)
    args = parser.parse_args()

    settings = LoomSettings()
    migrations.apply(settings.database_url)
    with psycopg.connect(settings.database_url) as conn:
        device, key = registry.add(conn, "bench")
    now = datetime.now(UTC)
    rounds = []
    # Both servers stay up and (a)-(d) take turns, round after round: on a shared
    # machine the load drifts, and side by side within a round is what compares.
    with (
        Server("ingest_api.app:create_app", factory=True) as api,
        Server("bench.ingest_noop:app", factory=False) as noop_server,
    ):
        for index in range(args.rounds):
            work = workload(
                key, now - timedelta(hours=6 * (index + 1)), args.events, args.requests
            )
            raw = raw_producer(settings.kafka_bootstrap, device.device_id, work["raw"])
            batch = measure(api, work["batch"], args.batch_concurrency, BATCH)
            single = measure(api, work["single"], args.concurrency, 1)
            noop = measure(noop_server, work["noop"], args.concurrency, 1)
            rounds.append({"a": raw, "b": batch, "c": single, "d": noop})
    with psycopg.connect(settings.database_url) as conn:
        registry.revoke(conn, device.device_id)

    print(
        json.dumps(
            {
                "benchmark": "ingest_throughput",
                "machine": {
                    "cpus": os.cpu_count(),
                    "load_average_1m": round(os.getloadavg()[0], 2),
                    "python": platform.python_version(),
                },
                "settings": {
                    "events_per_round": args.events,
                    "requests_per_round": args.requests,
                    "rounds": args.rounds,
                    "events_per_batch": BATCH,
                    "batch_concurrency": args.batch_concurrency,
                    "concurrency": args.concurrency,
                },
                "median": {
                    "a_raw_producer": median_of(rounds, "a"),
                    "b_batch_posts": median_of(rounds, "b"),
                    "c_single_posts": median_of(rounds, "c"),
                    "d_noop_posts": median_of(rounds, "d"),
                },
                "targets": {
                    "b_over_a_events_per_s": target(
                        [r["b"]["events_per_s"] / r["a"]["per_s"] for r in rounds],
                        TARGET_BATCH,
                    ),
                    "c_over_d_requests_per_s": target(
                        [r["c"]["per_s"] / r["d"]["per_s"] for r in rounds],
                        TARGET_SINGLE,
                    ),
                },
                "rounds": rounds,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
