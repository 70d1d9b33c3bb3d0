"""The record of landing progress in TimescaleDB: ``landing_ranges`` and totals.

A range is requested (by a sensor), claimed (by the run landing it, with a
lease), and marked landed in the transaction that upserts its rows (see
:mod:`~loom_dagster.landing.upsert`), together with the per-topic totals. So a
range is recorded as landed exactly when its rows are in the table.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import psycopg

from loom_dagster.landing.ranges import OffsetRange, uncovered

Touched = list[dict[str, str]]  # [{"day": "YYYY-MM-DD", "device": "..."}]


@dataclass
class RangeOutcome:
    """What landing one offset range did."""

    offset_range: OffsetRange
    messages: int = 0
    valid: int = 0
    rows_inserted: int = 0
    dead_lettered: int = 0
    offsets_missing: int = 0
    touched: set[tuple[str, str]] = field(default_factory=set)

    @property
    def duplicates_skipped(self) -> int:
        """Valid events whose row was already there."""
        return self.valid - self.rows_inserted

    def touched_json(self) -> Touched:
        """Return the (day, device) pairs this range inserted rows into, sorted."""
        return touched_list(self.touched)


def touched_list(pairs: Iterable[tuple[str, str]]) -> Touched:
    """Return ``[{"day", "device"}]`` for ``(day, device)`` pairs, sorted, unique."""
    return [{"day": day, "device": device} for day, device in sorted(set(pairs))]


@dataclass(frozen=True)
class Claim:
    """The ranges a run must land, and those already landed (a replay)."""

    to_land: list[OffsetRange]
    already_landed: list[OffsetRange]
    touched: set[tuple[str, str]]


def record_requests(
    conn: psycopg.Connection, topic: str, ranges: Sequence[OffsetRange], key: str
) -> None:
    """Record that ``ranges`` were requested under run key ``key`` (idempotent)."""
    with conn.transaction(), conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO landing_ranges (topic, kafka_partition, start_offset,"
            " end_offset, run_key) VALUES (%s, %s, %s, %s, %s)"
            " ON CONFLICT DO NOTHING",
            [(topic, r.partition, r.start, r.end, key) for r in ranges],
        )


def _covering(
    conn: psycopg.Connection, topic: str, wanted: OffsetRange
) -> list[list[dict[str, str]]] | None:
    """Return what the landed ranges spanning ``wanted`` touched; None if they don't."""
    overlapping = conn.execute(
        "SELECT start_offset, end_offset, partitions_touched FROM landing_ranges"
        " WHERE topic = %s AND kafka_partition = %s AND landed_at IS NOT NULL"
        " AND end_offset > %s AND start_offset < %s",
        (topic, wanted.partition, wanted.start, wanted.end),
    ).fetchall()
    if uncovered(wanted, [(start, end) for start, end, _ in overlapping]):
        return None
    return [pairs or [] for _, _, pairs in overlapping]


def claim(
    conn: psycopg.Connection,
    topic: str,
    ranges: Sequence[OffsetRange],
    run_id: str,
    lease_s: int,
) -> Claim:
    """Claim ``ranges`` for ``run_id``; split off those other ranges already cover.

    A range counts as landed when landed ranges together span all of it; what
    they inserted (``partitions_touched``) is returned so a replay can announce
    it again - a run that crashed after its commit did not get to.
    """
    to_land, done = [], []
    touched: set[tuple[str, str]] = set()
    with conn.transaction():
        for wanted in ranges:
            covering = _covering(conn, topic, wanted)
            if covering is None:
                to_land.append(wanted)
                continue
            done.append(wanted)
            for pairs in covering:
                touched.update((p["day"], p["device"]) for p in pairs)
        conn.cursor().executemany(
            "INSERT INTO landing_ranges AS r (topic, kafka_partition, start_offset,"
            " end_offset, claimed_by, claimed_until)"
            " VALUES (%s, %s, %s, %s, %s, now() + make_interval(secs => %s))"
            " ON CONFLICT (topic, kafka_partition, start_offset, end_offset)"
            " DO UPDATE SET claimed_by = excluded.claimed_by,"
            " claimed_until = excluded.claimed_until WHERE r.landed_at IS NULL",
            [(topic, r.partition, r.start, r.end, run_id, lease_s) for r in to_land],
        )
    return Claim(to_land, done, touched)


def mark_landed(
    conn: psycopg.Connection,
    topic: str,
    outcomes: Sequence[RangeOutcome],
    run_id: str,
) -> None:
    """Mark the ranges of ``outcomes`` landed and add them to the topic's totals.

    Call in the transaction that inserted their rows.
    """
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO landing_ranges AS r (topic, kafka_partition, start_offset,"
            " end_offset, landed_at, landed_by, messages, rows_inserted,"
            " duplicates_skipped, dead_lettered, offsets_missing,"
            " partitions_touched)"
            " VALUES (%s, %s, %s, %s, now(), %s, %s, %s, %s, %s, %s, %s)"
            " ON CONFLICT (topic, kafka_partition, start_offset, end_offset)"
            " DO UPDATE SET landed_at = excluded.landed_at,"
            " landed_by = excluded.landed_by, messages = excluded.messages,"
            " rows_inserted = excluded.rows_inserted,"
            " duplicates_skipped = excluded.duplicates_skipped,"
            " dead_lettered = excluded.dead_lettered,"
            " offsets_missing = excluded.offsets_missing,"
            " partitions_touched = excluded.partitions_touched,"
            " claimed_until = NULL"
            " WHERE r.landed_at IS NULL",
            [
                (
                    topic,
                    o.offset_range.partition,
                    o.offset_range.start,
                    o.offset_range.end,
                    run_id,
                    o.messages,
                    o.rows_inserted,
                    o.duplicates_skipped,
                    o.dead_lettered,
                    o.offsets_missing,
                    json.dumps(o.touched_json()),
                )
                for o in outcomes
            ],
        )
    conn.execute(
        "INSERT INTO landing_totals AS t (topic, messages, rows_inserted,"
        " duplicates_skipped, dead_lettered) VALUES (%s, %s, %s, %s, %s)"
        " ON CONFLICT (topic) DO UPDATE SET"
        " messages = t.messages + excluded.messages,"
        " rows_inserted = t.rows_inserted + excluded.rows_inserted,"
        " duplicates_skipped = t.duplicates_skipped + excluded.duplicates_skipped,"
        " dead_lettered = t.dead_lettered + excluded.dead_lettered,"
        " updated_at = now()",
        (
            topic,
            sum(o.messages for o in outcomes),
            sum(o.rows_inserted for o in outcomes),
            sum(o.duplicates_skipped for o in outcomes),
            sum(o.dead_lettered for o in outcomes),
        ),
    )


@dataclass(frozen=True)
class Totals:
    """Everything landed from a topic so far (monotonic counters)."""

    messages: int = 0
    rows_inserted: int = 0
    duplicates_skipped: int = 0
    dead_lettered: int = 0


def totals(conn: psycopg.Connection, topic: str) -> Totals:
    """Return the running totals of ``topic`` (zeros before its first landing)."""
    row = conn.execute(
        "SELECT messages, rows_inserted, duplicates_skipped, dead_lettered"
        " FROM landing_totals WHERE topic = %s",
        (topic,),
    ).fetchone()
    return Totals(*row) if row else Totals()


@dataclass(frozen=True)
class Pending:
    """A requested range not landed yet."""

    offset_range: OffsetRange
    run_key: str | None
    recoveries: int
    age_s: float
    claimed: bool


def pending(conn: psycopg.Connection, topic: str, limit: int = 1000) -> list[Pending]:
    """Return the requested but unlanded ranges of ``topic``, oldest first."""
    rows = conn.execute(
        "SELECT kafka_partition, start_offset, end_offset, run_key, recoveries,"
        " extract(epoch FROM now() - requested_at),"
        " coalesce(claimed_until > now(), false)"
        " FROM landing_ranges WHERE topic = %s AND landed_at IS NULL"
        " ORDER BY requested_at, kafka_partition, start_offset LIMIT %s",
        (topic, limit),
    ).fetchall()
    return [
        Pending(OffsetRange(p, s, e), key, rec, float(age), claimed)
        for p, s, e, key, rec, age, claimed in rows
    ]


def settle_covered(
    conn: psycopg.Connection, topic: str, ranges: Sequence[OffsetRange]
) -> list[OffsetRange]:
    """Mark ranges that other landed ranges fully cover as landed; return the rest.

    A sensor tick that crashed after recording its request may have re-requested
    the same offsets as part of a larger range; the smaller record is then moot.
    """
    remaining = []
    with conn.transaction():
        for wanted in ranges:
            if _covering(conn, topic, wanted) is None:
                remaining.append(wanted)
                continue
            conn.execute(
                "UPDATE landing_ranges SET landed_at = now(), landed_by = 'covered',"
                " messages = 0, rows_inserted = 0, duplicates_skipped = 0,"
                " dead_lettered = 0, offsets_missing = 0,"
                " partitions_touched = '[]'::jsonb"
                " WHERE topic = %s AND kafka_partition = %s AND start_offset = %s"
                " AND end_offset = %s AND landed_at IS NULL",
                (topic, wanted.partition, wanted.start, wanted.end),
            )
    return remaining


def mark_rerequested(
    conn: psycopg.Connection, topic: str, ranges: Sequence[OffsetRange]
) -> None:
    """Restart the clock of ranges requested again by recovery."""
    with conn.transaction(), conn.cursor() as cur:
        cur.executemany(
            "UPDATE landing_ranges SET requested_at = now(),"
            " recoveries = recoveries + 1, claimed_by = NULL, claimed_until = NULL"
            " WHERE topic = %s AND kafka_partition = %s AND start_offset = %s"
            " AND end_offset = %s AND landed_at IS NULL",
            [(topic, r.partition, r.start, r.end) for r in ranges],
        )


def drop_expired_chunks(conn: psycopg.Connection, table: str, days: int) -> list[str]:
    """Drop the chunks of ``table`` wholly older than ``days``; return their names."""
    with conn.transaction():
        rows = conn.execute(
            "SELECT drop_chunks(%s::regclass, older_than => now() - make_interval(days => %s))",
            (table, days),
        ).fetchall()
    return [r[0] for r in rows]


def prune_ranges(conn: psycopg.Connection, keep_days: int) -> int:
    """Forget landed ranges older than ``keep_days``; return how many."""
    with conn.transaction():
        cur = conn.execute(
            "DELETE FROM landing_ranges WHERE landed_at < now() - make_interval(days => %s)",
            (keep_days,),
        )
    return cur.rowcount
