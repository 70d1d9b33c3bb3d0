"""Trino versus PostgreSQL on the same analytics queries over 1M GPS rows.

Inserts 1M fixes of one benchmark device (ten days of January 2001, generated
inside PostgreSQL) into ``gps_data``, runs each query directly in PostgreSQL and
through Trino's ``timescale`` catalog, alternating, and checks that both engines
return the same numbers. The rows are deleted afterwards. Prints JSON.

Every query reads the device's ten days (filtered by device and time, as an
analyst would):

- ``daily_summary``: fixes, mean and top speed and a bounding box per UTC day,
  grouped by ``CAST(time AT TIME ZONE 'UTC' AS date)``. Trino cannot push a
  grouping by an expression down to PostgreSQL: every row travels to Trino.
- ``daily_summary_by_day_view``: the same over the ``gps_data_by_day`` view
  (migration 0040), whose ``day`` column lets Trino push the whole aggregation
  down; PostgreSQL runs the same statement over the same view.
- ``daily_distance``: distance per day from consecutive fixes (haversine over a
  LAG window). Window functions are never pushed down.

    .venv/bin/python bench/trino_vs_postgres.py [--rows 1000000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import time
import uuid
from collections.abc import Callable
from typing import Any

import psycopg

from loom_cli.analytics import client
from loom_core.settings import LoomSettings

DAYS = 10
START, END = "2001-01-01 00:00:00+00", "2001-01-11 00:00:00+00"

PG_RANGE = "device_id = %(device)s AND time >= %(start)s AND time < %(end)s"
TRINO_RANGE = (
    "device_id = '{device}' AND time >= TIMESTAMP '2001-01-01 00:00:00 UTC'"
    " AND time < TIMESTAMP '2001-01-11 00:00:00 UTC'"
)
SUMMARY = """count(*) AS fixes, avg(speed_mps) AS mean_speed, max(speed_mps) AS top_speed,
    min(latitude) AS south, max(latitude) AS north, min(longitude) AS west,
    max(longitude) AS east"""
HAVERSINE = """sum(2 * 6371008.8 * asin(sqrt(
    power(sin(radians(latitude - prev_lat) / 2), 2)
    + cos(radians(prev_lat)) * cos(radians(latitude))
      * power(sin(radians(longitude - prev_lon) / 2), 2))))"""
DISTANCE = """
    SELECT day, count(*) AS fixes, {haversine} AS metres
    FROM (
        SELECT {day} AS day, latitude, longitude,
               lag(latitude) OVER w AS prev_lat, lag(longitude) OVER w AS prev_lon
        FROM {table} WHERE {range}
        WINDOW w AS (PARTITION BY {day} ORDER BY time)
    ) AS fixes
    GROUP BY day ORDER BY day"""
PG_DAY, TRINO_DAY = (
    "(time AT TIME ZONE 'UTC')::date",
    "CAST(time AT TIME ZONE 'UTC' AS date)",
)

QUERIES: dict[str, dict[str, str]] = {
    "daily_summary": {
        "postgres": f"SELECT {PG_DAY} AS day, {SUMMARY} FROM gps_data"
        f" WHERE {PG_RANGE} GROUP BY 1 ORDER BY 1",
        "trino": f"SELECT {TRINO_DAY} AS day, {SUMMARY} FROM timescale.public.gps_data"
        f" WHERE {TRINO_RANGE} GROUP BY 1 ORDER BY 1",
    },
    "daily_summary_by_day_view": {
        "postgres": f"SELECT day, {SUMMARY} FROM gps_data_by_day"
        f" WHERE {PG_RANGE} GROUP BY day ORDER BY day",
        "trino": f"SELECT day, {SUMMARY} FROM timescale.public.gps_data_by_day"
        f" WHERE {TRINO_RANGE} GROUP BY day ORDER BY day",
    },
    "daily_distance": {
        "postgres": DISTANCE.format(
            haversine=HAVERSINE, day=PG_DAY, table="gps_data", range=PG_RANGE
        ),
        "trino": DISTANCE.format(
            haversine=HAVERSINE,
            day=TRINO_DAY,
            table="timescale.public.gps_data",
            range=TRINO_RANGE,
        ),
    },
}


def load(conn: psycopg.Connection, device: str, rows: int) -> float:
    """Insert the benchmark device's fixes; return the seconds it took."""
    started = time.perf_counter()
    conn.execute("SELECT setseed(0.42)")
    # A walk around Berlin: one fix every 86400 * DAYS / rows seconds.
    conn.execute(
        """
        INSERT INTO gps_data (time, device_id, event_id, received_at, latitude,
                              longitude, accuracy_m, speed_mps, source)
        SELECT t, %(device)s, gen_random_uuid(), t,
               52.52 + 0.05 * sin(i / 5000.0) + 0.0005 * random(),
               13.40 + 0.08 * cos(i / 7000.0) + 0.0005 * random(),
               5 + 10 * random(), 15 * random(), 'bench'
        FROM generate_series(0, %(rows)s - 1) AS i,
             LATERAL (SELECT %(start)s::timestamptz
                      + make_interval(secs => i * 86400.0 * %(days)s / %(rows)s)) AS s (t)
        """,
        {"device": device, "rows": rows, "start": START, "days": DAYS},
    )
    conn.execute("ANALYZE gps_data")
    return time.perf_counter() - started


def same(left: list, right: list) -> bool:
    """True when both results hold the same values (floats to 1e-6 relative).

    The engines add floating-point numbers in different orders, and Trino
    averages a ``real`` column as ``real`` where PostgreSQL returns ``double``.
    """
    if len(left) != len(right):
        return False
    for row_l, row_r in zip(left, right):
        for a, b in zip(row_l, row_r, strict=True):
            if isinstance(a, float) or isinstance(b, float):
                if not math.isclose(float(a), float(b), rel_tol=1e-6):
                    return False
            elif a != b:
                return False
    return True


def timed(run: Callable[[], tuple[list, dict]]) -> tuple[float, list, dict]:
    """Run once; return seconds, rows and engine statistics."""
    started = time.perf_counter()
    rows, stats = run()
    return time.perf_counter() - started, rows, stats


def compare(
    pg: psycopg.Connection,
    trino_conn: Any,
    sql: dict[str, str],
    device: str,
    repeats: int,
) -> dict[str, Any]:
    """Run one query on both engines, alternating; return its figures."""
    params = {"device": device, "start": START, "end": END}

    def on_postgres() -> tuple[list, dict]:
        return pg.execute(sql["postgres"], params).fetchall(), {}

    def on_trino() -> tuple[list, dict]:
        cursor = trino_conn.cursor()
        cursor.execute(sql["trino"].format(device=device))
        return cursor.fetchall(), cursor.stats

    # one warm-up each (caches, JIT, Trino's first plan), then alternate so both
    # engines see the same background load
    _, pg_rows, _ = timed(on_postgres)
    _, trino_rows, _ = timed(on_trino)
    pg_times, trino_times, stats = [], [], {}
    for _ in range(repeats):
        pg_times.append(timed(on_postgres)[0])
        seconds, _, stats = timed(on_trino)
        trino_times.append(seconds)
    pg_median, trino_median = statistics.median(pg_times), statistics.median(
        trino_times
    )
    return {
        "postgres_s": {"median": round(pg_median, 3), "min": round(min(pg_times), 3)},
        "trino_s": {
            "median": round(trino_median, 3),
            "min": round(min(trino_times), 3),
        },
        "ratio_trino_over_postgres": round(trino_median / pg_median, 2),
        "results_match": same(pg_rows, trino_rows),
        "result_rows": len(pg_rows),
        "rows_trino_read_from_postgres": stats.get("processedRows"),
        "trino_cpu_s": round(stats.get("cpuTimeMillis", 0) / 1000, 2),
    }


def main() -> None:
    """Load, run both engines side by side, print JSON, delete the rows."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    settings = LoomSettings()
    device = f"bench-{uuid.uuid4().hex[:12]}"
    pg = psycopg.connect(settings.database_url, autocommit=True)
    trino_conn = client.connect(settings)
    report: dict[str, Any] = {"rows": args.rows, "days": DAYS, "repeats": args.repeats}
    try:
        report["load_s"] = round(load(pg, device, args.rows), 2)
        report["queries"] = {
            name: compare(pg, trino_conn, sql, device, args.repeats)
            for name, sql in QUERIES.items()
        }
    finally:
        pg.execute(
            "DELETE FROM gps_data WHERE device_id = %s AND time >= %s AND time < %s",
            (device, START, END),
        )
        pg.close()
        trino_conn.close()
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
