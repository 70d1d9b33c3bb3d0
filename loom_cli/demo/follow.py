"""Follow a replay through the pipeline until the day is landed and enriched.

What "done" means, exactly (no clocks involved):

- **landed**: for every raw topic the replay wrote to, ``landing_ranges`` holds
  landed ranges covering every offset between the topic's end before the replay
  and its end after it (so a second replay is done only once its duplicates were
  landed and skipped, not merely posted);
- **transcripts** and **captions**: every raw row of the device-day is recorded as
  consumed in ``enrichment_sources``;
- **gps_tracks**: its latest materialisation of the partition (Dagster's event
  log, through the webserver) read as many fixes as ``gps_data`` holds, and
  committed.

Progress is the rows landed and processed, and the Dagster runs since the replay
began; a run that failed is reported with its page in the UI.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import psycopg
from confluent_kafka import Consumer, KafkaException, TopicPartition
from psycopg import sql

from loom_cli.demo.dagster_api import DagsterUI, Materialization, Run
from loom_core.kafka import consumer_config
from loom_core.settings import EXTERNAL_TIMEOUT_S
from loom_dagster.enrichment.store import DeviceDay  # Dagster-free

Offsets = dict[str, dict[int, int]]  # topic -> partition -> offset

ROWS = "SELECT count(*) FROM {table} WHERE device_id = %s AND time >= %s AND time < %s"
LANDED = """
SELECT start_offset, end_offset FROM landing_ranges
WHERE topic = %s AND kafka_partition = %s AND landed_at IS NOT NULL
  AND end_offset > %s AND start_offset < %s
ORDER BY start_offset
"""
UNPROCESSED = """
SELECT count(*) FROM {table} r
WHERE r.device_id = %(device)s AND r.time >= %(start)s AND r.time < %(end)s
  AND NOT EXISTS (
      SELECT 1 FROM enrichment_sources s
      WHERE s.asset = %(asset)s AND s.device_id = r.device_id AND s.day = %(day)s
        AND s.source_event_id = r.event_id
  )
"""
ENRICHED_ROWS = "SELECT count(*) FROM {table} WHERE device_id = %s AND day = %s"
# enrichment asset -> the raw tables it consumes (gps_tracks keeps no sources)
SOURCES: dict[str, tuple[str, ...]] = {
    "transcripts": ("audio_chunks",),
    "captions": ("camera_frames", "screenshots"),
}
ENRICHED = ("gps_tracks", "transcripts", "captions")
ACTIVE = {"QUEUED", "NOT_STARTED", "STARTING", "STARTED", "CANCELING"}
# A run waits this long in a queue that drains every second only behind a backlog.
JUMP_AFTER_S = 20.0
JUMPED_TAG = "loom/launched_by"


def end_offsets(bootstrap: str, topics: Iterable[str]) -> Offsets:
    """Return each topic's end offset per partition (reads no message)."""
    consumer = Consumer(consumer_config(bootstrap, "loom-demo"))
    try:
        found: Offsets = {}
        for topic in topics:
            meta = consumer.list_topics(topic, timeout=EXTERNAL_TIMEOUT_S).topics[topic]
            if meta.error is not None:
                msg = f"Kafka has no topic {topic} ({meta.error}); run `loom stack up`"
                raise KafkaException(msg)
            found[topic] = {
                p: consumer.get_watermark_offsets(
                    TopicPartition(topic, p), timeout=EXTERNAL_TIMEOUT_S
                )[1]
                for p in meta.partitions
            }
        return found
    finally:
        consumer.close()


def spans(before: Offsets, after: Offsets) -> dict[str, dict[int, tuple[int, int]]]:
    """Return the offsets written between two readings, per topic and partition."""
    return {
        topic: {
            p: (before.get(topic, {}).get(p, 0), end)
            for p, end in ends.items()
            if end > before.get(topic, {}).get(p, 0)
        }
        for topic, ends in after.items()
    }


def covered(ranges: Iterable[tuple[int, int]], start: int, end: int) -> bool:
    """Return True when the ranges (end exclusive) cover ``[start, end)``."""
    reached = start
    for low, high in sorted(ranges):
        if low > reached:
            return False
        reached = max(reached, high)
        if reached >= end:
            return True
    return reached >= end


@dataclass
class Goal:
    """What a replay posted: the partition, rows per raw table, offsets per topic."""

    partition: DeviceDay
    expected: Mapping[str, int]  # raw table -> distinct events acknowledged
    topics: Mapping[str, str]  # raw table -> its topic
    written: dict[str, dict[int, tuple[int, int]]]  # topic -> partition -> span


@dataclass
class Observation:
    """Where the pipeline stands for a goal."""

    rows: dict[str, int] = field(default_factory=dict)  # raw table -> rows
    landed: dict[str, bool] = field(default_factory=dict)  # raw table -> covered
    processed: dict[str, tuple[int, int]] = field(default_factory=dict)
    enriched_rows: dict[str, int] = field(default_factory=dict)
    tracks: Materialization | None = None
    runs: list[Run] = field(default_factory=list)  # since the replay began
    queued: list[Run] = field(default_factory=list)  # every queued run

    @property
    def landing_done(self) -> bool:
        """Every offset the replay wrote has landed."""
        return bool(self.landed) and all(self.landed.values())

    def enrichment_done(self, asset: str) -> bool:
        """Whether ``asset`` has processed every raw row of the partition."""
        if asset == "gps_tracks":
            meta = self.tracks.metadata if self.tracks else {}
            return meta.get("committed") is True and meta.get("fixes") == self.rows.get(
                "gps_data"
            )
        done, total = self.processed.get(asset, (0, -1))
        return done == total

    @property
    def done(self) -> bool:
        """Landed and enriched."""
        return self.landing_done and all(self.enrichment_done(a) for a in ENRICHED)

    def failed_runs(self) -> list[Run]:
        """Return the runs that failed since the replay began."""
        return [r for r in self.runs if r.status == "FAILURE"]

    def active_runs(self) -> list[Run]:
        """Return the runs queued or running."""
        return [r for r in self.runs if r.status in ACTIVE]

    def waiting_long(self, partition: DeviceDay, now: float) -> list[Run]:
        """Return the partition's enrichment runs queued over :data:`JUMP_AFTER_S`."""
        return [
            r
            for r in self.runs
            if r.status == "QUEUED"
            and r.partition == partition.key
            and JUMPED_TAG not in r.tags
            and set(r.assets) & set(ENRICHED)
            and now - r.created > JUMP_AFTER_S
        ]

    def stuck_in_queue(self, partition: DeviceDay, now: float) -> list[Run]:
        """Return the partition's enrichment runs queued behind a backlog.

        A run :meth:`waiting_long` with runs of other partitions queued before it
        (events posted earlier, e.g. by `make test`) waits behind them; the demo
        launches a copy ahead of them.
        """
        first = min(
            (r.created for r in self.queued if r.partition != partition.key),
            default=None,
        )
        if first is None:
            return []
        return [r for r in self.waiting_long(partition, now) if first < r.created]

    def signature(self) -> tuple[object, ...]:
        """Return what changes when the pipeline makes progress (stall detection)."""
        return (
            tuple(sorted(self.rows.items())),
            tuple(sorted(self.landed.items())),
            tuple(sorted(self.processed.items())),
            self.tracks.run_id if self.tracks else None,
            tuple(sorted((r.run_id, r.status) for r in self.runs)),
        )


def observe(
    conn: psycopg.Connection, ui: DagsterUI, goal: Goal, since: float
) -> Observation:
    """Read the pipeline's state for ``goal`` from PostgreSQL and Dagster."""
    part = goal.partition
    seen = Observation()
    for table, topic in goal.topics.items():
        query = sql.SQL(ROWS).format(table=sql.Identifier(table))
        seen.rows[table] = conn.execute(query, (part.device_id, part.start, part.end)).fetchone()[0]  # type: ignore[index]
        seen.landed[table] = all(
            covered(conn.execute(LANDED, (topic, p, start, end)).fetchall(), start, end)
            for p, (start, end) in goal.written.get(topic, {}).items()
        )
    for asset, tables in SOURCES.items():
        total = sum(seen.rows.get(t, 0) for t in tables)
        pending = 0
        for table in tables:
            query = sql.SQL(UNPROCESSED).format(table=sql.Identifier(table))
            values = {
                "device": part.device_id,
                "start": part.start,
                "end": part.end,
                "asset": asset,
                "day": part.day,
            }
            pending += conn.execute(query, values).fetchone()[0]  # type: ignore[index]
        seen.processed[asset] = (total - pending, total)
    for asset in ENRICHED:
        query = sql.SQL(ENRICHED_ROWS).format(table=sql.Identifier(asset))
        seen.enriched_rows[asset] = conn.execute(query, (part.device_id, part.day)).fetchone()[0]  # type: ignore[index]
    seen.tracks = ui.latest_materialization("gps_tracks", part.key)
    seen.runs = ui.runs_since(since)
    if seen.waiting_long(part, time.time()):  # the whole queue only when needed
        seen.queued = ui.queued_runs()
    return seen
