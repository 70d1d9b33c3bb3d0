"""Landing throughput: N GPS events Kafka -> gps_data vs a raw psycopg COPY.

Five passes in this process, against the same stack (LOOM_* or the shared local
stack), each over its own copy of the same N events (another device id, same
shape, so no pass meets another's rows), in rounds (3 by default) that rotate
their order; medians are reported, and every round:

- ``baseline_copy``: a binary ``COPY`` of the rows (Python tuples, already decoded)
  straight into ``gps_data``, one transaction;
- ``landing_engine``: ``loom_dagster.landing.land`` over the offset ranges the
  events were produced to - what a landing run executes: read exactly those
  offsets, read and check them as columns (the columnar fast path), COPY into
  staging, ``INSERT ... ON CONFLICT DO NOTHING``, record the landed ranges;
- ``landing_runs``: the same through Dagster, the runs the sensor would request
  (capped per run), each executed in process on the repository's instance
  configuration (``dagster.yaml``: PostgreSQL storage, a database of its own);
  the figure the target is about. A deployed run adds its fork on top.
- ``engine_pydantic`` and ``runs_pydantic``: the same two with the fast path
  off (``LOOM_LANDING_COLUMNAR=false``): every message validated by its pydantic
  model, as before; the baseline of the change, measured beside it.

Before the passes of a round, the bench freezes what it holds (Dagster, the code
location, the instance, the round's events) out of the garbage collector's way
(``gc.freeze()``), as the run launcher's warm process does before it forks a run
worker, which holds none of the bench's events.

A landing pass must insert every one of its rows itself: on a shared stack a
landing daemon may land some of the round's offsets first, and the pass would
then be timed for less work. Such a round is discarded and run again (listed in
``rounds_discarded``).

Each pass reports wall time and CPU seconds of this process and of its PostgreSQL
backends (read from /proc, so the bench must run beside the database). The rows
are deleted afterwards. Prints one JSON object.

    .venv/bin/python bench/landing_throughput.py [--events 100000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import gc
import json
import os
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import dagster as dg
import psycopg
from confluent_kafka import Producer
from timing import median_of, process_cpu_s

from loom_cli.serve import child_env, prepare_dagster_home
from loom_core import kafka as loom_kafka
from loom_core import migrations
from loom_core.contracts import FAMILIES, GpsFix
from loom_core.contracts.samples import gps_fixes
from loom_core.kafka import to_message
from loom_core.settings import LoomSettings
from loom_dagster.landing.land import Clients, land
from loom_dagster.landing.ranges import OffsetRange, plan_runs
from loom_dagster.landing.rows import LAYOUTS
from loom_dagster.landing.settings import LandingSettings, get_landing_settings
from loom_dagster.resources import KafkaResource

GPS = FAMILIES["gps"]
LAYOUT = LAYOUTS["gps"]
DAGSTER_DB = "dagster_bench"  # the Dagster runs' storage, dropped afterwards
MAX_TRIES = 3  # per round, when another process lands the round's offsets


def make_events(device_id: str, count: int) -> list[GpsFix]:
    """``count`` fixes of ``device_id``, 0.4 s apart, from 12 hours ago."""
    start = datetime.now(UTC) - timedelta(hours=12)
    return gps_fixes(
        device_id, count, start, every=timedelta(milliseconds=400), source="bench"
    )


def produce_acked(settings: LoomSettings, events: list[GpsFix]) -> list[OffsetRange]:
    """Produce the events; return the offset ranges Kafka acknowledged them at."""
    producer = Producer(loom_kafka.producer_config(settings.kafka_bootstrap))
    spans: dict[int, list[int]] = {}
    failed: list[object] = []

    def report(error: object, message: object) -> None:
        if error is not None:
            failed.append(error)
            return
        offset = message.offset()
        span = spans.setdefault(message.partition(), [offset, offset + 1])
        span[0], span[1] = min(span[0], offset), max(span[1], offset + 1)

    for event in events:
        topic, key, value = to_message(event)
        producer.produce(topic, key=key, value=value, on_delivery=report)
        producer.poll(0)
    producer.flush(60)
    if failed:
        msg = f"{len(failed)} events were not acknowledged: {failed[0]}"
        raise SystemExit(msg)
    return [OffsetRange(p, s, e) for p, (s, e) in sorted(spans.items())]


class Backends:
    """Connections whose PostgreSQL backend CPU time is counted (same host only)."""

    def __init__(self, database_url: str) -> None:
        self.database_url = database_url
        self.seconds = 0.0

    def connect(self) -> psycopg.Connection:
        conn = psycopg.connect(self.database_url, connect_timeout=5)
        pid = conn.info.backend_pid
        start = process_cpu_s(pid)
        original = conn.close

        def close() -> None:
            self.seconds += process_cpu_s(pid) - start
            original()

        conn.close = close  # type: ignore[method-assign]
        return conn


def timed(run: Callable[[], object], backends: Backends) -> dict[str, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    run()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return {
        "seconds": round(wall, 3),
        "cpu_python_s": round(cpu, 3),
        "cpu_postgres_s": round(backends.seconds, 3) if backends.seconds else None,
    }


def baseline_copy(backends: Backends, events: list[GpsFix]) -> None:
    rows = [LAYOUT.row(event, 0, i) for i, event in enumerate(events)]
    columns = ", ".join(LAYOUT.columns)
    with backends.connect() as conn:
        with (
            conn.cursor() as cur,
            cur.copy(f"COPY gps_data ({columns}) FROM STDIN (FORMAT BINARY)") as copy,
        ):
            copy.set_types(LAYOUT.types)
            for row in rows:
                copy.write_row(row)
        conn.commit()


def landing_engine(
    settings: LoomSettings,
    backends: Backends,
    ranges: list[OffsetRange],
    *,
    columnar: bool = True,
) -> int:
    kafka = KafkaResource(bootstrap_servers=settings.kafka_bootstrap)
    clients = Clients(
        connect=backends.connect,
        consumer=lambda: kafka.consumer("loom-landing"),
        producer=kafka.producer,
        watermarks=kafka.watermarks,
    )
    outcome = land(
        GPS,
        ranges,
        clients=clients,
        settings=LandingSettings(columnar=columnar),
        run_id="bench",
    )
    return outcome.total("rows_inserted")


class LandingRuns:
    """The landing job, with its instance ready and one warm-up run done.

    Building the job and the instance (its storage connected), and the first run's imports,
    are paid once per process by a deployed run too, before it lands anything;
    they are kept out of the measurement.
    """

    def __init__(
        self, instance: dg.DagsterInstance, warm_up: list[OffsetRange]
    ) -> None:
        from loom_dagster.definitions import defs  # noqa: PLC0415

        self.job = defs.resolve_job_def("land_gps_data")
        self.instance = instance
        self.run(warm_up)

    def run(self, ranges: list[OffsetRange], *, columnar: bool = True) -> int:
        """Land ``ranges`` through the job; return the rows its runs inserted."""
        from loom_dagster.defs.landing.jobs import run_config  # noqa: PLC0415

        os.environ["LOOM_LANDING_COLUMNAR"] = str(columnar).lower()
        get_landing_settings.cache_clear()  # the asset reads them once a process

        start = {r.partition: r.start for r in ranges}
        ends = {r.partition: r.end for r in ranges}
        runs, _ = plan_runs(start, ends, LandingSettings().cap("gps"), max_runs=10_000)
        inserted = 0
        for run in runs:
            config = run_config(GPS, run)
            result = self.job.execute_in_process(
                run_config=config, instance=self.instance
            )
            if not result.success:
                msg = "a landing run failed"
                raise SystemExit(msg)
            for event in result.asset_materializations_for_node(GPS.table):
                inserted += event.metadata["rows_inserted"].value
        return inserted


@contextlib.contextmanager
def dagster_instance(settings: LoomSettings) -> Iterator[dg.DagsterInstance]:
    """The repository's Dagster instance (dagster.yaml: PostgreSQL storage), on a
    database of its own that is dropped afterwards."""
    with psycopg.connect(settings.database_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DAGSTER_DB}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{DAGSTER_DB}"')
    url = urlunsplit(urlsplit(settings.database_url)._replace(path=f"/{DAGSTER_DB}"))
    saved = dict(os.environ)
    with tempfile.TemporaryDirectory() as scratch:
        os.environ["LOOM_DAGSTER_DATABASE_URL"] = url
        home = prepare_dagster_home(
            settings.model_copy(update={"home": Path(scratch)}), code_port=0
        )
        os.environ.update(child_env(settings, home))
        try:
            with dg.DagsterInstance.from_config(str(home)) as instance:
                yield instance
        finally:
            os.environ.clear()
            os.environ.update(saved)
            with psycopg.connect(settings.database_url, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{DAGSTER_DB}" WITH (FORCE)')


def count(settings: LoomSettings, device_id: str) -> int:
    with psycopg.connect(settings.database_url) as conn:
        return conn.execute(
            "SELECT count(*) FROM gps_data WHERE device_id = %s", (device_id,)
        ).fetchone()[0]


PASSES = (
    "baseline_copy",
    "engine_pydantic",
    "runs_pydantic",
    "landing_engine",
    "landing_runs",
)


def one_round(
    settings: LoomSettings, job: LandingRuns, count_: int, order: tuple[str, ...]
) -> dict[str, dict[str, float]]:
    """Run the passes in ``order`` over fresh events; check and delete rows."""
    tag = uuid.uuid4().hex[:8]
    devices = {p: f"bench-{p.replace('_', '-')}-{tag}" for p in PASSES}
    copy_events = make_events(devices["baseline_copy"], count_)
    ranges = {
        p: produce_acked(settings, make_events(devices[p], count_)) for p in PASSES[1:]
    }
    gc.freeze()  # as loom_dagster.run_launcher.zygote before each fork
    passes: dict[str, Callable[[], dict[str, float]]] = {}
    copy_db = Backends(settings.database_url)
    passes["baseline_copy"] = lambda: timed(
        lambda: baseline_copy(copy_db, copy_events), copy_db
    )
    inserted: dict[str, int] = {}  # by pass: rows it inserted itself
    for columnar, engine, through_dagster in (
        (False, "engine_pydantic", "runs_pydantic"),
        (True, "landing_engine", "landing_runs"),
    ):
        db = Backends(settings.database_url)
        passes[engine] = functools.partial(
            timed,
            lambda e=engine, c=columnar, b=db: inserted.__setitem__(
                e, landing_engine(settings, b, ranges[e], columnar=c)
            ),
            db,
        )
        passes[through_dagster] = functools.partial(
            timed,
            lambda d=through_dagster, c=columnar: inserted.__setitem__(
                d, job.run(ranges[d], columnar=c)
            ),
            Backends(""),
        )
    try:
        result = {name: passes[name]() for name in order}
        landed = {p: count(settings, d) for p, d in devices.items()}
    finally:
        with psycopg.connect(settings.database_url) as conn:
            conn.execute(
                "DELETE FROM gps_data WHERE device_id = ANY(%s)",
                (list(devices.values()),),
            )
    if any(n != count_ for n in landed.values()):
        msg = f"rows landed {landed} != {count_} events each"
        raise SystemExit(msg)
    if any(n != count_ for n in inserted.values()):
        # Another landing process (a shared stack's daemon) landed some of the
        # round's offsets first: its passes did less than they are timed for.
        raise ContaminatedRoundError(inserted)
    copy_s = result["baseline_copy"]["seconds"]
    for name in PASSES:
        result[name]["rows_per_s"] = round(count_ / result[name]["seconds"])
    result["order"] = list(order)  # type: ignore[assignment]
    for key, name in RATIOS.items():
        result[key] = round(copy_s / result[name]["seconds"], 3)  # type: ignore[assignment]
    return result


class ContaminatedRoundError(RuntimeError):
    """A pass found some of its rows landed by someone else; the round is void."""


# Each ratio: the raw COPY's seconds over the pass's.
RATIOS = {
    "ratio": "landing_runs",
    "ratio_engine": "landing_engine",
    "ratio_runs_pydantic": "runs_pydantic",
    "ratio_engine_pydantic": "engine_pydantic",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    settings = LoomSettings()
    os.environ.setdefault("LOOM_DATABASE_URL", settings.database_url)
    os.environ.setdefault("LOOM_KAFKA_BOOTSTRAP", settings.kafka_bootstrap)
    migrations.apply(settings.database_url)
    warm_device = f"bench-warm-{uuid.uuid4().hex[:8]}"
    warm = produce_acked(settings, make_events(warm_device, 10))
    rounds: list[dict] = []
    discarded: list[dict[str, int]] = []  # rows each pass inserted itself
    try:
        with dagster_instance(settings) as instance:
            job = LandingRuns(instance, warm_up=warm)
            for n in range(args.rounds):
                # Each pass takes each place in turn: a later pass meets a fuller
                # table and index (about 0.3 s slower here).
                shift = n % len(PASSES)
                order = PASSES[shift:] + PASSES[:shift]
                for _ in range(MAX_TRIES):
                    try:
                        rounds.append(one_round(settings, job, args.events, order))
                        break
                    except ContaminatedRoundError as exc:
                        discarded.append(exc.args[0])
    finally:
        with psycopg.connect(settings.database_url) as conn:
            conn.execute("DELETE FROM gps_data WHERE device_id = %s", (warm_device,))
    median = {name: median_of(rounds, name) for name in PASSES}
    ratio = statistics.median(r["ratio"] for r in rounds)
    result = {
        "benchmark": "landing_throughput",
        "events": args.events,
        "rounds": len(rounds),
        "median": median,
        "ratio": round(ratio, 3),
        "ratio_per_round": [r["ratio"] for r in rounds],
        **{
            key: round(statistics.median(r[key] for r in rounds), 3)
            for key in RATIOS
            if key != "ratio"
        },
        "speedup_runs": round(
            statistics.median(
                r["runs_pydantic"]["seconds"] / r["landing_runs"]["seconds"]
                for r in rounds
            ),
            2,
        ),
        "target_ratio": 0.5,
        "met": ratio >= 0.5,
        "max_messages_per_run": LandingSettings().cap("gps"),
        "rounds_discarded": discarded,
        "load_avg_1m": round(os.getloadavg()[0], 2),
        "cpus": os.cpu_count(),
        "per_round": rounds,
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
