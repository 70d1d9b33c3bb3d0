"""Landing throughput: N GPS events Kafka -> gps_data vs a raw psycopg COPY.

Both sides run in this process, one after the other, against the same stack
(LOOM_* or the shared local stack):

- baseline: a binary ``COPY`` of the same rows (as Python tuples, already decoded)
  straight into ``gps_data``, one transaction;
- landing: the landing runs the sensor would request for those offsets (capped
  per run), executed in process by Dagster: read the exact offset range, validate
  every message against the contract, COPY into staging, INSERT ... ON CONFLICT
  DO NOTHING, record the landed ranges.

The baseline rows carry another device id (same shape), so neither side meets the
other's rows. Both devices' rows are deleted afterwards. Prints one JSON object.

    .venv/bin/python bench/landing_throughput.py [--events 100000]
"""

from __future__ import annotations

import argparse
import json
import os
import time
import uuid
from datetime import UTC, datetime, timedelta

import dagster as dg
import psycopg
from confluent_kafka import Producer

from loom_core import kafka as loom_kafka
from loom_core import migrations
from loom_core.contracts import FAMILIES, GpsFix
from loom_core.settings import LoomSettings
from loom_dagster.landing.ranges import OffsetRange, plan_runs
from loom_dagster.landing.rows import LAYOUTS
from loom_dagster.landing.settings import LandingSettings

GPS = FAMILIES["gps"]
LAYOUT = LAYOUTS["gps"]


def make_events(device_id: str, count: int) -> list[GpsFix]:
    start = datetime.now(UTC) - timedelta(hours=12)
    return [
        GpsFix(
            device_id=device_id,
            recorded_at=start + timedelta(milliseconds=400 * i),
            latitude=48.85 + (i % 1000) * 1e-5,
            longitude=2.35 - (i % 700) * 1e-5,
            accuracy_m=4.0,
            altitude_m=35.0,
            speed_mps=1.2,
            bearing_deg=180.0,
            battery_level=0.8,
            source="bench",
        )
        for i in range(count)
    ]


def produce_acked(settings: LoomSettings, events: list[GpsFix]) -> list[OffsetRange]:
    producer = Producer(loom_kafka.producer_config(settings.kafka_bootstrap))
    spans: dict[int, list[int]] = {}
    failed: list[object] = []

    def report(error: object, message: object) -> None:
        if error is not None:
            failed.append(error)
            return
        span = spans.setdefault(
            message.partition(), [message.offset(), message.offset() + 1]
        )
        span[0] = min(span[0], message.offset())
        span[1] = max(span[1], message.offset() + 1)

    for event in events:
        producer.produce(
            GPS.topic.name,
            key=event.device_id,
            value=event.model_dump_json(),
            on_delivery=report,
        )
        producer.poll(0)
    producer.flush(60)
    if failed:
        msg = f"{len(failed)} events were not acknowledged: {failed[0]}"
        raise SystemExit(msg)
    return [OffsetRange(p, s, e) for p, (s, e) in sorted(spans.items())]


def baseline_copy(
    settings: LoomSettings, events: list[GpsFix], device_id: str
) -> float:
    rows = [
        LAYOUT.row(event.model_copy(update={"device_id": device_id}), 0, i)
        for i, event in enumerate(events)
    ]
    columns = ", ".join(LAYOUT.columns)
    started = time.perf_counter()
    with psycopg.connect(settings.database_url) as conn:
        with (
            conn.cursor() as cur,
            cur.copy(f"COPY gps_data ({columns}) FROM STDIN (FORMAT BINARY)") as copy,
        ):
            copy.set_types(LAYOUT.types)
            for row in rows:
                copy.write_row(row)
        conn.commit()
    return time.perf_counter() - started


def landing_runs(ranges: list[OffsetRange]) -> tuple[float, int]:
    from loom_dagster.assets.landing import run_config  # noqa: PLC0415
    from loom_dagster.definitions import defs  # noqa: PLC0415

    cap = LandingSettings().cap("gps")
    start = {r.partition: r.start for r in ranges}
    ends = {r.partition: r.end for r in ranges}
    runs, _ = plan_runs(start, ends, cap=cap, max_runs=10_000)
    job = defs.resolve_job_def("land_gps_data")
    with dg.instance_for_test() as instance:
        started = time.perf_counter()
        for run in runs:
            result = job.execute_in_process(
                run_config=run_config(GPS, run), instance=instance
            )
            if not result.success:
                msg = "a landing run failed"
                raise SystemExit(msg)
        return time.perf_counter() - started, len(runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    args = parser.parse_args()
    settings = LoomSettings()
    os.environ.setdefault("LOOM_DATABASE_URL", settings.database_url)
    os.environ.setdefault("LOOM_KAFKA_BOOTSTRAP", settings.kafka_bootstrap)
    migrations.apply(settings.database_url)
    tag = uuid.uuid4().hex[:8]
    land_device, copy_device = f"bench-land-{tag}", f"bench-copy-{tag}"
    events = make_events(land_device, args.events)
    ranges = produce_acked(settings, events)
    try:
        copy_s = baseline_copy(settings, events, copy_device)
        land_s, runs = landing_runs(ranges)
        with psycopg.connect(settings.database_url) as conn:
            landed = conn.execute(
                "SELECT count(*) FROM gps_data WHERE device_id = %s", (land_device,)
            ).fetchone()[0]
    finally:
        with psycopg.connect(settings.database_url) as conn:
            conn.execute(
                "DELETE FROM gps_data WHERE device_id IN (%s, %s)",
                (land_device, copy_device),
            )
    ratio = copy_s / land_s
    print(
        json.dumps(
            {
                "benchmark": "landing_throughput",
                "events": args.events,
                "rows_landed": landed,
                "baseline_copy": {
                    "seconds": round(copy_s, 3),
                    "rows_per_s": round(args.events / copy_s),
                },
                "landing": {
                    "seconds": round(land_s, 3),
                    "rows_per_s": round(args.events / land_s),
                    "runs": runs,
                    "max_messages_per_run": LandingSettings().cap("gps"),
                },
                "ratio": round(ratio, 3),
                "load_avg_1m": round(os.getloadavg()[0], 2),
                "cpus": os.cpu_count(),
                "target_ratio": 0.5,
                "met": ratio >= 0.5,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
