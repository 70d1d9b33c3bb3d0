"""Partition writes: delete-and-insert of one (day, device) in one transaction.

Every enrichment asset writes through :func:`replace_rows`: it takes the
partition's advisory lock (so an incremental run and a backfill of the same
partition never interleave), deletes the rows in scope, inserts the new ones, and
returns the ids that disappeared, which are republished as deletions.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

from loom_core.contracts.ids import enriched_row_id


@dataclass(frozen=True)
class DeviceDay:
    """One partition: a device and a UTC day, with its time range."""

    device_id: str
    day: date

    @property
    def key(self) -> str:
        """Dagster's partition key (``day|device``)."""
        return f"{self.day.isoformat()}|{self.device_id}"

    @property
    def start(self) -> datetime:
        """Midnight UTC at the start of the day."""
        return datetime.combine(self.day, time(0), tzinfo=UTC)

    @property
    def end(self) -> datetime:
        """Midnight UTC at the end of the day (exclusive)."""
        return self.start + timedelta(days=1)

    def __str__(self) -> str:
        return f"{self.device_id} {self.day.isoformat()}"


def lock(conn: psycopg.Connection, asset: str, partition: DeviceDay) -> None:
    """Take the transaction-scoped advisory lock of ``asset``'s partition."""
    key = enriched_row_id(asset, partition.device_id, partition.day).int >> 65
    conn.execute("SELECT pg_advisory_xact_lock(%s)", (key,))


def _adapt(value: Any) -> Any:
    if isinstance(value, dict) or (
        isinstance(value, list) and value and isinstance(value[0], dict)
    ):
        return Jsonb(value)
    return value


def replace_rows(
    conn: psycopg.Connection,
    table: str,
    partition: DeviceDay,
    *,
    id_column: str,
    rows: Sequence[Mapping[str, Any]],
    scope: sql.Composable | None = None,
    scope_params: Sequence[Any] = (),
) -> set[str]:
    """Replace the partition's rows in ``scope`` by ``rows``; return vanished ids.

    Parameters
    ----------
    conn
        A connection inside the caller's transaction (the lock is already held).
    table, id_column
        The enriched table and its row id column.
    partition
        Which device-day.
    rows
        Column -> value mappings, all with the same columns.
    scope, scope_params
        An extra ``AND ...`` condition limiting what is deleted (an incremental
        run replaces only the recordings it recomputed); ``None`` replaces the whole
        partition.
    """
    condition = sql.SQL("device_id = %s AND day = %s AND time >= %s AND time < %s") + (
        sql.SQL(" AND ") + scope if scope is not None else sql.SQL("")
    )
    deleted = conn.execute(
        sql.SQL("DELETE FROM {} WHERE {} RETURNING {}").format(
            sql.Identifier(table), condition, sql.Identifier(id_column)
        ),
        (
            partition.device_id,
            partition.day,
            partition.start,
            partition.end,
            *scope_params,
        ),
    ).fetchall()
    if rows:
        columns = list(rows[0])
        statement = sql.SQL("INSERT INTO {} ({}) VALUES ({})").format(
            sql.Identifier(table),
            sql.SQL(", ").join(map(sql.Identifier, columns)),
            sql.SQL(", ").join(sql.Placeholder() * len(columns)),
        )
        with conn.cursor() as cur:
            cur.executemany(statement, [[_adapt(r[c]) for c in columns] for r in rows])
    kept = {str(r[id_column]) for r in rows}
    return {str(r[0]) for r in deleted} - kept


def processed_sources(
    conn: psycopg.Connection, asset: str, partition: DeviceDay
) -> set[str]:
    """Return the raw event ids ``asset`` has consumed in the partition."""
    rows = conn.execute(
        "SELECT source_event_id FROM enrichment_sources"
        " WHERE asset = %s AND device_id = %s AND day = %s",
        (asset, partition.device_id, partition.day),
    ).fetchall()
    return {str(r[0]) for r in rows}


def record_sources(
    conn: psycopg.Connection,
    asset: str,
    partition: DeviceDay,
    outcomes: Iterable[tuple[str, str, str | None]],
    *,
    replace_all: bool,
) -> None:
    """Record ``(source_event_id, outcome, detail)`` as consumed by ``asset``.

    With ``replace_all`` the partition's previous entries are dropped first (a
    backfill); otherwise entries are added or updated (an incremental run).
    """
    if replace_all:
        conn.execute(
            "DELETE FROM enrichment_sources"
            " WHERE asset = %s AND device_id = %s AND day = %s",
            (asset, partition.device_id, partition.day),
        )
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO enrichment_sources"
            " (asset, device_id, day, source_event_id, outcome, detail)"
            " VALUES (%s, %s, %s, %s, %s, %s)"
            " ON CONFLICT (asset, device_id, day, source_event_id)"
            " DO UPDATE SET outcome = EXCLUDED.outcome, detail = EXCLUDED.detail,"
            " processed_at = now()",
            [
                (asset, partition.device_id, partition.day, event_id, outcome, detail)
                for event_id, outcome, detail in outcomes
            ],
        )
