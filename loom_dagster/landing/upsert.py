"""The idempotent upsert: COPY into a staging table, then INSERT ... ON CONFLICT.

Rows are written in chunks by a background thread that owns the connection while
the batch streams in: each chunk is COPYed (binary) into a temporary staging table
and inserted into the hypertable with ``ON CONFLICT DO NOTHING``, so the server
merges one chunk while the run is still reading and decoding the next. Everything
happens in the caller's transaction: nothing is visible before its commit.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Sequence
from types import TracebackType
from typing import Self

import psycopg
from psycopg import sql

from loom_dagster.landing.rows import Layout, Row
from loom_dagster.landing.store import RangeOutcome

STAGING = "loom_landing_staging"
CHUNK_ROWS = 10_000
_DONE = None


def _insert_sql(table: str, columns: list[str]) -> sql.Composed:
    """Insert the staged rows; return per range, day and device how many were new."""
    cols = sql.SQL(", ").join(map(sql.Identifier, columns))
    return sql.SQL(
        "WITH inserted AS ("
        " INSERT INTO {table} ({cols}) SELECT {cols} FROM {staging}"
        " ON CONFLICT DO NOTHING"
        " RETURNING time, device_id, kafka_partition, kafka_offset)"
        " SELECT r.n, to_char(i.time AT TIME ZONE 'UTC', 'YYYY-MM-DD'),"
        " i.device_id, count(*)"
        " FROM inserted i JOIN unnest(%s::int[], %s::int[], %s::bigint[],"
        " %s::bigint[]) AS r(n, p, s, e)"
        " ON i.kafka_partition = r.p AND i.kafka_offset >= r.s"
        " AND i.kafka_offset < r.e"
        " GROUP BY 1, 2, 3"
    ).format(table=sql.Identifier(table), cols=cols, staging=sql.Identifier(STAGING))


class Upsert:
    """Upsert rows into ``table`` in chunks; a context manager inside a transaction.

    Parameters
    ----------
    conn
        A connection with a transaction open; the writer thread uses it until the
        context exits, the caller must not use it meanwhile.
    table, layout
        The hypertable and the columns each row holds.
    outcomes
        The ranges the rows come from; their ``rows_inserted`` and ``touched``
        are filled from what the inserts really inserted.
    chunk_rows
        Rows per COPY + INSERT round.
    """

    def __init__(
        self,
        conn: psycopg.Connection,
        table: str,
        layout: Layout,
        outcomes: Sequence[RangeOutcome],
        chunk_rows: int = CHUNK_ROWS,
    ) -> None:
        self.conn = conn
        self.table = table
        self.layout = layout
        self.outcomes = outcomes
        self.chunk_rows = chunk_rows
        self._buffer: list[Row] = []
        self._queue: queue.Queue[list[Row] | None] = queue.Queue(maxsize=2)
        self._error: BaseException | None = None
        self._thread = threading.Thread(
            target=self._run, name=f"upsert-{table}", daemon=True
        )
        columns = sql.SQL(", ").join(map(sql.Identifier, layout.columns))
        self._create = sql.SQL(
            "CREATE TEMP TABLE {staging} ON COMMIT DROP AS"
            " SELECT {cols} FROM {table} WITH NO DATA"
        ).format(
            staging=sql.Identifier(STAGING), cols=columns, table=sql.Identifier(table)
        )
        self._copy = sql.SQL(
            "COPY {staging} ({cols}) FROM STDIN (FORMAT BINARY)"
        ).format(staging=sql.Identifier(STAGING), cols=columns)
        self._insert = _insert_sql(table, layout.columns)
        self._truncate = sql.SQL("TRUNCATE {staging}").format(
            staging=sql.Identifier(STAGING)
        )
        ranges = [o.offset_range for o in outcomes]
        self._range_params = (
            list(range(len(ranges))),
            [r.partition for r in ranges],
            [r.start for r in ranges],
            [r.end for r in ranges],
        )

    def __enter__(self) -> Self:
        self.conn.execute(self._create)
        self._thread.start()
        return self

    def write(self, row: Row) -> None:
        """Add one row; a full chunk goes to the writer thread."""
        self._buffer.append(row)
        if len(self._buffer) >= self.chunk_rows:
            self._hand_over()

    def _hand_over(self) -> None:
        if self._error is not None:
            raise self._error
        self._queue.put(self._buffer)
        self._buffer = []

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None and self._buffer:
            self._hand_over()
        self._queue.put(_DONE)
        self._thread.join()
        if exc_type is None and self._error is not None:
            raise self._error

    def _run(self) -> None:
        while (chunk := self._queue.get()) is not _DONE:
            if self._error is not None:
                continue  # keep draining so the producer never blocks
            try:
                self._merge(chunk)
            except BaseException as exc:  # noqa: BLE001 - re-raised in the caller
                self._error = exc

    def _merge(self, chunk: list[Row]) -> None:
        with self.conn.cursor() as cur:
            with cur.copy(self._copy) as copy:
                copy.set_types(self.layout.types)
                for row in chunk:
                    copy.write_row(row)
            cur.execute(self._insert, self._range_params)
            for n, day, device, count in cur.fetchall():
                self.outcomes[n].rows_inserted += count
                self.outcomes[n].touched.add((day, device))
            cur.execute(self._truncate)
