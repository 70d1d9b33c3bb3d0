"""Ingest API throughput beside its baselines, measured in one run; prints JSON.

    .venv/bin/python bench/ingest_throughput.py [--events 20000] [--requests 4000] \
        [--rounds 3] [--workers 1,2] [--variants lean,access-log,asyncio]

(a) the raw confluent-kafka producer sending the same GPS events with the same
settings (``loom_core.kafka.producer_config``); (b) ``POST /v1/events:batch`` with
100 GPS events per request; (c) single-event ``POST /v1/events/gps`` at
concurrency 32; (d) a no-op FastAPI endpoint at concurrency 32. For each worker
count and server variant (:data:`VARIANTS`: uvicorn settings), both servers run
with the same ones; the load comes from a minimal keep-alive HTTP/1.1 client, so
it costs the server's CPU as little as possible. (a)-(d) run in turn for several
rounds; the JSON has every round and the medians, per worker count and variant.
Targets: (b) >= 0.25 x (a) events/s; (c) >= 0.5 x (d) requests/s.
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
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Self

import httpx
import psycopg
from confluent_kafka import Producer
from timing import median_of, process_tree_cpu_s

from ingest_api import registry
from ingest_api.server import PROTOCOL, TIMEOUT_KEEP_ALIVE_S
from loom_cli.stack.process import free_port
from loom_core import migrations, topics
from loom_core.contracts import GpsFix
from loom_core.kafka import producer_config
from loom_core.settings import LoomSettings

ROOT = Path(__file__).resolve().parent.parent
BATCH = 100
TARGET_BATCH, TARGET_SINGLE = 0.25, 0.5
VARIANTS = {
    # httptools (the ingest API's guarded protocol is built on it) and uvloop
    # (uvicorn's "auto" loop when installed), no access log.
    "lean": ["--no-access-log"],
    # As `loom api` runs by default: the same plus an access line per request.
    "access-log": [],
    # What uvloop gains: the lean settings on asyncio's own event loop.
    "asyncio": ["--no-access-log", "--loop", "asyncio"],
}


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
    # Connected, and its idempotent producer id obtained, before the clock starts:
    # the first send of a new producer waited up to 0.5 s for them (retry backoff),
    # which made some rounds' (a) a start-up figure. The servers warm up too.
    producer.produce(topics.GPS_RAW.name, values.pop(0), device_id.encode())
    if producer.flush(30):
        msg = "the warm-up event was not acknowledged within 30 s"
        raise RuntimeError(msg)
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
    """uvicorn serving ``target`` on a free port, its log in a temporary file."""

    def __init__(
        self, target: str, *, factory: bool, workers: int, options: list[str]
    ) -> None:
        self.port = free_port()
        argv = [
            sys.executable,
            "-m",
            "uvicorn",
            target,
            "--port",
            str(self.port),
            "--workers",
            str(workers),
            "--log-level",
            "info",
            "--timeout-keep-alive",
            str(TIMEOUT_KEEP_ALIVE_S),
            "--no-server-header",
            *options,
        ]
        if factory:  # the ingest API, served as `loom api` serves it
            argv += ["--factory", "--http", PROTOCOL]
        self.log = tempfile.TemporaryFile()  # noqa: SIM115 - closed in __exit__
        self.process = subprocess.Popen(
            argv, cwd=ROOT, env=os.environ.copy(), stdout=self.log, stderr=self.log
        )

    def __enter__(self) -> Self:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                httpx.get(f"http://127.0.0.1:{self.port}/docs", timeout=1)
            except httpx.TransportError:
                time.sleep(0.2)
            else:
                return self
        self.log.seek(0)
        msg = f"the server did not start within 120 s: {self.log.read()[-2000:]!r}"
        raise RuntimeError(msg)

    def __exit__(self, *_: object) -> None:
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(30)
        self.log.close()


def measure(
    server: "Server", requests: list[bytes], concurrency: int, per_request: int
) -> dict:
    """Warm up with a slice of the requests, then time all of them.

    Besides wall-clock rates, reports the server's own CPU time per event (all its
    processes and threads): on a shared machine that is the steadier figure.
    """
    warm_up = requests[: max(concurrency * 4, len(requests) // 20)]
    load(server.port, warm_up, concurrency)
    cpu = process_tree_cpu_s(server.process.pid)
    out, elapsed = load(server.port, requests, concurrency)
    server_cpu = process_tree_cpu_s(server.process.pid) - cpu
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
        "raw": gps_bodies(events + 1, start - timedelta(hours=1)),  # one to warm up
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


def measure_setting(
    args: argparse.Namespace, key: str, device_id: str, workers: int, variant: str
) -> dict:
    """(a)-(d) in turn, round after round, both servers run as ``workers``/``variant``.

    Both servers stay up and take turns with the raw producer: on a shared machine
    the load drifts, and side by side within a round is what compares.
    """
    settings = LoomSettings()
    options = VARIANTS[variant]
    rounds = []
    with (
        Server(
            "ingest_api.app:create_app", factory=True, workers=workers, options=options
        ) as api,
        Server(
            "bench.ingest_noop:app", factory=False, workers=workers, options=options
        ) as noop_server,
    ):
        for _ in range(args.rounds):
            args.round += 1  # event times unique to the round, across settings
            start = datetime.now(UTC) - timedelta(hours=6 * args.round)
            work = workload(key, start, args.events, args.requests)
            raw = raw_producer(settings.kafka_bootstrap, device_id, work["raw"])
            batch = measure(api, work["batch"], args.batch_concurrency, BATCH)
            single = measure(api, work["single"], args.concurrency, 1)
            noop = measure(noop_server, work["noop"], args.concurrency, 1)
            rounds.append({"a": raw, "b": batch, "c": single, "d": noop})
    return {
        "workers": workers,
        "variant": variant,
        "uvicorn_options": options,
        "load_average_1m": round(os.getloadavg()[0], 2),
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
                [r["c"]["per_s"] / r["d"]["per_s"] for r in rounds], TARGET_SINGLE
            ),
        },
        "rounds": rounds,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--requests", type=int, default=4_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--batch-concurrency", type=int, default=8)
    parser.add_argument(
        "--workers", default="1,2", help="uvicorn worker counts, comma-separated"
    )
    parser.add_argument(
        "--variants",
        default=",".join(VARIANTS),
        help=f"server settings, comma-separated, of: {', '.join(VARIANTS)}",
    )
    args = parser.parse_args()
    worker_counts = [int(w) for w in args.workers.split(",")]
    variants = args.variants.split(",")
    if unknown := set(variants) - set(VARIANTS):
        parser.error(f"unknown variants: {', '.join(sorted(unknown))}")
    args.round = 0

    settings = LoomSettings()
    migrations.apply(settings.database_url)
    with psycopg.connect(settings.database_url) as conn:
        device, key = registry.add(conn, "bench")
    load_before = os.getloadavg()
    try:
        results = [
            measure_setting(args, key, device.device_id, workers, variant)
            for workers in worker_counts
            for variant in variants
        ]
    finally:
        with psycopg.connect(settings.database_url) as conn:
            registry.revoke(conn, device.device_id)

    print(
        json.dumps(
            {
                "benchmark": "ingest_throughput",
                "date": datetime.now(UTC).isoformat(timespec="seconds"),
                "machine": {
                    "cpus": os.cpu_count(),
                    "load_average_before": [round(x, 2) for x in load_before],
                    "load_average_after": [round(x, 2) for x in os.getloadavg()],
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
                "summary": [
                    {
                        "workers": r["workers"],
                        "variant": r["variant"],
                        "b_over_a": r["targets"]["b_over_a_events_per_s"],
                        "c_over_d": r["targets"]["c_over_d_requests_per_s"],
                    }
                    for r in results
                ],
                "results": results,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
