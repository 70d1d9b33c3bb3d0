"""Where a landing run's Python time goes, per message; prints JSON.

    .venv/bin/python bench/landing_breakdown.py [--events 100000] [--repeats 5]

Produces N GPS fixes, reads them back with the landing reader, then times each
step of the engine's hot loop on those messages alone, in this thread's CPU time
(best of ``--repeats``), with the cyclic collector paused as a run pauses it:

- ``read``: the reader's batches (``consume`` and the range bookkeeping);
- ``decode``: validating a message against the contract (``landing.decode``),
  and ``decode_without_time_validators``, the same model with the two datetime
  fields left to pydantic-core alone (UTC conversion and the clock-skew check
  are the difference);
- ``row``: the table row of a decoded event;
- ``copy_rows``: psycopg formatting the rows for a binary COPY (into a temporary
  table, rolled back; the writer thread's part, PostgreSQL's time not counted);
- ``collector``: what the collector costs the decode loop when it is left on
  (the loop keeps a chunk of rows alive, as the upsert does);
- ``columnar_split``: the columnar fast path (``columnar.FastPath.split``) over
  the reader's batches, values and offsets taken from the messages included,
  replacing ``decode`` and ``row``; and ``binary_format``, its rows written in
  COPY's binary format a column at a time (``pgbinary``), replacing ``copy_rows``. Polars works on threads of its own,
  so these two are the process's CPU time, not this thread's.

Baseline, same run: ``copy_rows`` is all the Python a raw COPY of decoded rows
does. Needs the local stack (``loom stack up``); the events are landed and their
rows deleted at the end.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import time
import uuid
from collections.abc import Callable
from typing import Any

import polars as pl
import psycopg
from landing_throughput import (
    GPS,
    LAYOUT,
    Backends,
    landing_engine,
    make_events,
    produce_acked,
)
from pydantic import AwareDatetime, create_model

from loom_core.contracts.envelope import utc_now
from loom_core.settings import LoomSettings
from loom_dagster.landing.columnar import fast_path
from loom_dagster.landing.decode import decode
from loom_dagster.landing.pgbinary import binary_copy
from loom_dagster.landing.ranges import OffsetRange
from loom_dagster.landing.reader import CONSUME_BATCH, RangeReader
from loom_dagster.landing.upsert import CHUNK_ROWS
from loom_dagster.resources import KafkaResource


def best_us(
    run: Callable[[], object],
    count: int,
    repeats: int,
    clock: Callable[[], float] = time.thread_time,
) -> float:
    """Best CPU time of this thread for ``run``, in microseconds per message."""
    best = float("inf")
    for _ in range(repeats):
        start = clock()
        run()
        best = min(best, clock() - start)
    return round(best / count * 1e6, 2)


def decode_keeping_chunks(messages: list[Any]) -> None:
    """Decode and keep rows alive a chunk at a time, as a landing run does."""
    model, topic, row = GPS.model, GPS.topic.name, LAYOUT.row
    chunk: list[tuple] = []
    for message in messages:
        chunk.append(row(decode(model, message, topic), 0, 0))
        if len(chunk) >= CHUNK_ROWS:
            chunk = []


def copy_rows(database_url: str, rows: list[tuple]) -> Callable[[], None]:
    columns = ", ".join(LAYOUT.columns)

    def run() -> None:
        with psycopg.connect(database_url) as conn, conn.cursor() as cur:
            cur.execute(
                "CREATE TEMP TABLE bench_rows AS SELECT * FROM gps_data LIMIT 0"
            )
            with cur.copy(
                f"COPY bench_rows ({columns}) FROM STDIN (FORMAT BINARY)"
            ) as copy:
                copy.set_types(LAYOUT.types)
                for one in rows:
                    copy.write_row(one)
            conn.rollback()

    return run


def measure(
    settings: LoomSettings, ranges: list[OffsetRange], count: int, repeats: int
) -> dict[str, float]:
    """Time each step over the messages of ``ranges``; microseconds per message."""
    kafka = KafkaResource(bootstrap_servers=settings.kafka_bootstrap)
    topic = GPS.topic.name

    def read() -> list[Any]:
        reader = RangeReader(
            kafka.consumer("loom-landing"),
            topic,
            idle_timeout_s=30,
            watermarks=lambda p: kafka.watermarks(topic)[p],
        )
        return [m for _, batch in reader.batches(ranges) for m in batch]

    messages = read()
    untimed = create_model(
        "GpsFixWithoutTimeValidators",
        __base__=GPS.model,
        recorded_at=(AwareDatetime, ...),
        received_at=(AwareDatetime, ...),
    )
    events = [decode(GPS.model, m, topic) for m in messages]
    fast = fast_path(GPS)
    batches = [
        messages[i : i + CONSUME_BATCH] for i in range(0, len(messages), CONSUME_BATCH)
    ]

    def split() -> list[pl.DataFrame]:
        return [
            fast.split(
                [m.value() for m in batch],
                batch[0].partition(),
                [m.offset() for m in batch],
                utc_now(),
            )[0]
            for batch in batches
        ]

    frame = pl.concat(split())
    rows = [LAYOUT.row(e, m.partition(), m.offset()) for e, m in zip(events, messages)]
    gc.freeze()
    gc.disable()
    try:
        per_message = {
            "read": best_us(read, count, repeats),
            "decode": best_us(
                lambda: [decode(GPS.model, m, topic) for m in messages], count, repeats
            ),
            "decode_without_time_validators": best_us(
                lambda: [decode(untimed, m, topic) for m in messages], count, repeats
            ),
            "row": best_us(
                lambda: [LAYOUT.row(e, 0, 0) for e in events], count, repeats
            ),
            "copy_rows": best_us(
                copy_rows(settings.database_url, rows), count, repeats
            ),
        }
        per_message["columnar_split"] = best_us(
            split, count, repeats, time.process_time
        )
        per_message["binary_format"] = best_us(
            lambda: binary_copy(frame, LAYOUT.types),
            count,
            repeats,
            time.process_time,
        )
        paused = best_us(lambda: decode_keeping_chunks(messages), count, repeats)
    finally:
        gc.enable()
    collecting = best_us(lambda: decode_keeping_chunks(messages), count, repeats)
    per_message["collector"] = round(collecting - paused, 2)
    return per_message


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    settings = LoomSettings()
    device = f"bench-{uuid.uuid4().hex[:8]}"
    ranges = produce_acked(settings, make_events(device, args.events))
    try:
        per_message = measure(settings, ranges, args.events, args.repeats)
    finally:
        # Landed and deleted: no landing sensor meets the bench's events later.
        landing_engine(settings, Backends(settings.database_url), ranges)
        with psycopg.connect(settings.database_url) as conn:
            conn.execute("DELETE FROM gps_data WHERE device_id = %s", (device,))
    print(
        json.dumps(
            {
                "benchmark": "landing_breakdown",
                "events": args.events,
                "us_per_message": per_message,
                "cpu_s_per_100k": {
                    k: round(v * 0.1, 3) for k, v in per_message.items()
                },
                "load_avg_1m": round(os.getloadavg()[0], 2),
                "cpus": os.cpu_count(),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
