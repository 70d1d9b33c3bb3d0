"""Landing freshness: from an acknowledged produce to the row being queryable.

Runs the real thing with default settings on a private stack (Kafka + TimescaleDB
on free ports, torn down afterwards): the Dagster daemon with the repository's
dagster.yaml (QueuedRunCoordinator, forking run launcher), the whole code location
(landing and enrichment) and the landing sensors at their default interval. GPS
events are produced one at a time at a steady rate; each one's latency is the time
from its acknowledgement (``acks=all``) to the first poll that finds its row in
``gps_data``. Baselines, measured side by side: the produce acknowledgement
itself, and a direct single-row SQL INSERT.

Besides the percentiles it says where the time goes: each event's wait split into
phases read from Dagster's event log (until a run is requested for it, in the run
queue, forking the run's process, the run up to its commit), the CPU seconds each
part of the system used while the events flowed (daemon, code server, run workers,
PostgreSQL, Kafka, everything else on the machine), the load average before and
after, and whether the virtual environment holds compiled bytecode (without it
the warm process compiles Dagster anew). Prints one JSON object.

    .venv/bin/python bench/landing_freshness.py [--events 120] [--every 0.5]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import statistics
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import psycopg
from confluent_kafka import Producer

from loom_cli.serve import (
    API_APP,
    Supervisor,
    child_env,
    children,
    prepare_dagster_home,
)
from loom_cli.stack.process import free_port
from loom_cli.stack.stack import Stack, private_settings
from loom_core import kafka as loom_kafka
from loom_core import migrations
from loom_core.contracts import FAMILIES, GpsFix
from loom_core.settings import REPO_ROOT, LoomSettings

GPS = FAMILIES["gps"]
POLL_S = 0.1
WAIT_S = 180  # after the last event, how long to wait for the rest to land
SAMPLE_S = 0.5  # how often the CPU of the system's processes is read
TICKS = os.sysconf("SC_CLK_TCK")


def bench_settings(shared: LoomSettings) -> LoomSettings:
    home = shared.home / "bench-stacks" / uuid.uuid4().hex[:8]
    home.mkdir(parents=True)
    return private_settings(shared, home)


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


def bytecode_compiled() -> bool:
    """Whether Dagster's modules have compiled bytecode beside them."""
    spec = importlib.util.find_spec("dagster")
    origin = Path(spec.origin) if spec and spec.origin else None
    return origin is not None and (origin.parent / "__pycache__").is_dir()


class CpuSampler(threading.Thread):
    """Reads the CPU time of the system's processes from /proc, by role.

    A process's time is its last reading (a run worker that exits between two
    readings loses at most ``SAMPLE_S`` of it). ``other`` is the machine's busy
    time minus all the roles: other engineers' work, this bench's own process.
    """

    def __init__(self, stack_home: Path) -> None:
        super().__init__(daemon=True)
        self.roles = {
            "dagster_daemon": ("dagster._daemon",),
            "code_server": ("dagster code-server", "dagster api grpc"),
            # the warm process and its forks, the executors' step processes
            "run_workers": ("run_launcher.zygote", "multiprocessing"),
            "postgres": (f"{stack_home}/postgres",),
            "kafka": (f"{stack_home}/kafka",),
        }
        self.ours = {"dagster_daemon", "code_server", "run_workers"}
        self.last: dict[int, tuple[str, float]] = {}
        self.baseline: dict[int, float] = {}
        self.stop = threading.Event()
        self.started_busy = self.machine_busy()
        self.started = time.monotonic()

    @staticmethod
    def machine_busy() -> float:
        fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
        user, nice, system, _idle, _iowait, irq, softirq, steal = map(int, fields[:8])
        return (user + nice + system + irq + softirq + steal) / TICKS

    def _scan(self) -> Iterator[tuple[int, str, float]]:
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
                stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            role = next(
                (r for r, marks in self.roles.items() if any(m in cmd for m in marks)),
                None,
            )
            if role in self.ours and str(REPO_ROOT) not in cmd:
                role = None  # another engineer's Dagster
            if role is not None:
                yield int(entry.name), role, (int(stat[11]) + int(stat[12])) / TICKS

    def run(self) -> None:
        for pid, _role, cpu in self._scan():
            self.baseline[pid] = cpu
        while not self.stop.wait(SAMPLE_S):
            for pid, role, cpu in self._scan():
                self.last[pid] = (role, cpu)

    def result(self) -> dict[str, object]:
        self.stop.set()
        self.join()
        seconds = time.monotonic() - self.started
        by_role = dict.fromkeys(self.roles, 0.0)
        for pid, (role, cpu) in self.last.items():
            by_role[role] += cpu - self.baseline.get(pid, 0.0)
        busy = self.machine_busy() - self.started_busy
        by_role["other"] = max(0.0, busy - sum(by_role.values()))
        return {
            "window_s": round(seconds, 1),
            "cpu_s": {role: round(cpu, 1) for role, cpu in by_role.items()},
            "cores_busy": round(busy / seconds, 2),
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
                now = time.time()
                for (event_id,) in rows:
                    self.seen.setdefault(event_id, now)
                time.sleep(POLL_S)


@dataclass(frozen=True)
class Ack:
    """Where and when Kafka acknowledged one event (wall-clock seconds)."""

    at: float
    partition: int
    offset: int


def produce_one(producer: Producer, event: GpsFix) -> Ack:
    """Produce one event and return its acknowledgement."""
    acked: list[Ack] = []

    def report(error: object, message: object) -> None:
        if error is not None:
            msg = f"produce failed: {error}"
            raise SystemExit(msg)
        acked.append(Ack(time.time(), message.partition(), message.offset()))

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


def start_dagster(settings: LoomSettings) -> tuple[Supervisor, dict[str, str]]:
    """Start the code server and the daemon as ``loom serve`` does; their output
    goes to ``$LOOM_HOME/logs`` of the private stack."""
    code_port = free_port()
    home = prepare_dagster_home(settings, code_port)
    env = child_env(settings, home)
    members = children(API_APP, "127.0.0.1", (0, 0, code_port), home)
    dagster = [
        c for c in members if c.name in ("dagster-code-server", "dagster-daemon")
    ]
    supervisor = Supervisor(dagster, env, settings, log_to_files=True, label="bench")
    supervisor.start()
    return supervisor, env


@dataclass(frozen=True)
class LandingRun:
    """When a landing run went through each stage (wall-clock seconds)."""

    ranges: list[tuple[int, int, int]]
    times: dict[str, float]

    def covers(self, ack: Ack) -> bool:
        return any(
            p == ack.partition and s <= ack.offset < e for p, s, e in self.ranges
        )


# The run coordinator marks a dequeued run RUN_STARTING (Dagster 1.13 records no
# RUN_DEQUEUED event); RUN_START is the run's own process reporting in.
STAGES = ("RUN_ENQUEUED", "RUN_STARTING", "RUN_START", "ASSET_MATERIALIZATION")


def landing_runs(env: dict[str, str]) -> list[LandingRun]:
    """Read the landing runs of the GPS topic and their stages from Dagster."""
    import dagster as dg  # noqa: PLC0415 - the bench process needs it only here

    from loom_dagster.landing.ranges import parse_ranges  # noqa: PLC0415

    saved = dict(os.environ)
    os.environ.update(env)
    try:
        instance = dg.DagsterInstance.from_config(env["DAGSTER_HOME"])
        runs = []
        for record in instance.get_run_records(
            dg.RunsFilter(job_name=f"land_{GPS.table}")
        ):
            run = record.dagster_run
            if run.status != dg.DagsterRunStatus.SUCCESS:
                continue
            times = {}
            for event in instance.get_records_for_run(
                run.run_id, of_type={dg.DagsterEventType[s] for s in STAGES}
            ).records:
                times[event.event_log_entry.dagster_event_type.name] = (
                    event.event_log_entry.timestamp
                )
            ranges = parse_ranges(run.tags.get("loom/ranges", ""))
            runs.append(
                LandingRun([(r.partition, r.start, r.end) for r in ranges], times)
            )
        instance.dispose()
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return runs


def phases(
    acks: dict[str, Ack], seen: dict[str, float], runs: list[LandingRun]
) -> dict[str, dict[str, float]]:
    """Split each event's wait into the stages of the run that landed it."""
    split: dict[str, list[float]] = {
        "until_requested": [],
        "queued": [],
        "launching": [],
        "running_until_visible": [],
    }
    for event_id, ack in acks.items():
        run = next(
            (
                r
                for r in sorted(runs, key=lambda r: r.times.get("RUN_START", 0))
                if r.covers(ack) and all(s in r.times for s in STAGES[:3])
            ),
            None,
        )
        if run is None or event_id not in seen:
            continue
        t = run.times
        split["until_requested"].append(t["RUN_ENQUEUED"] - ack.at)
        split["queued"].append(t["RUN_STARTING"] - t["RUN_ENQUEUED"])
        split["launching"].append(t["RUN_START"] - t["RUN_STARTING"])
        split["running_until_visible"].append(seen[event_id] - t["RUN_START"])
    return {name: summary(values) for name, values in split.items() if values}


def measure(
    settings: LoomSettings, env: dict[str, str], events: int, every: float
) -> dict[str, object]:
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
    warm_up_s = watcher.seen[str(warm.event_id)] - warm_acked.at

    load_before = os.getloadavg()[0]
    cpu = CpuSampler(settings.home)
    cpu.start()
    acks: dict[str, Ack] = {}
    produce_latency = []
    for i in range(events):
        event = GpsFix(
            device_id=device_id,
            recorded_at=datetime.now(UTC),
            latitude=10 + i * 1e-4,
            longitude=20.0,
        )
        sent = time.time()
        acks[str(event.event_id)] = produce_one(producer, event)
        produce_latency.append(acks[str(event.event_id)].at - sent)
        time.sleep(max(0.0, every - (time.time() - sent)))
    deadline = time.monotonic() + WAIT_S
    while not set(acks) <= set(watcher.seen) and time.monotonic() < deadline:
        time.sleep(POLL_S)
    usage = cpu.result()
    watcher.stop.set()
    watcher.join()
    missing = set(acks) - set(watcher.seen)
    latencies = [watcher.seen[e] - acks[e].at for e in acks if e in watcher.seen]
    sql = direct_insert(settings.database_url, f"{device_id}-sql", 50)
    runs = landing_runs(env)
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
        "landing_runs": len(runs),
        "phases": phases(acks, watcher.seen, runs),
        "system": usage,
        "poll_interval_s": POLL_S,
        "load_avg_1m_before": round(load_before, 2),
        "load_avg_1m_after": round(os.getloadavg()[0], 2),
        "cpus": os.cpu_count(),
        "bytecode_compiled": bytecode_compiled(),
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
        "--log", type=Path, default=None, help="keep the Dagster logs in this folder"
    )
    args = parser.parse_args()
    settings = bench_settings(LoomSettings())
    stack = Stack(settings)
    dagster = None
    logs = settings.home / "logs"
    try:
        stack.up(["postgres", "kafka"])
        migrations.apply(settings.database_url)
        dagster, env = start_dagster(settings)
        result = measure(settings, env, args.events, args.every)
    except BaseException:
        for name in ("dagster-code-server", "dagster-daemon"):
            log = logs / f"{name}.log"
            if log.exists():
                sys.stderr.write(f"--- {name} ---\n{log.read_text()[-5000:]}")
        raise
    finally:
        if dagster is not None:
            dagster.stop()
        if args.log is not None and logs.exists():
            shutil.copytree(logs, args.log, dirs_exist_ok=True)
        stack.down()
        shutil.rmtree(settings.home, ignore_errors=True)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
