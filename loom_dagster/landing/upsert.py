"""The idempotent upsert: COPY into a staging table, then INSERT ... ON CONFLICT.

Rows are written in chunks by a background thread that owns the connection while
the batch streams in: each chunk is COPYed (binary) into a temporary staging table
and inserted into the hypertable with ``ON CONFLICT DO NOTHING``, so the server
merges one chunk while the run is still reading and decoding the next. Everything
happens in the caller's transaction: nothing is visible before its commit.

New rows are the common case, and ``ON CONFLICT`` costs: its speculative insertion
makes the INSERT twice as expensive (bench/landing_throughput.py). So a chunk is
first inserted plainly in a savepoint; that succeeds only when no staged row
exists yet (nor twice in the chunk), which is exactly when ``ON CONFLICT DO
NOTHING`` would have inserted every row. On a unique violation the savepoint rolls
the attempt back and the chunk, and every later chunk of the run, takes
``INSERT ... ON CONFLICT DO NOTHING``. Either way the table ends up the same.

Rows come either one by one (Python tuples, COPYed in binary) or as polars data
frames from the columnar fast path (:mod:`~loom_dagster.landing.columnar`),
COPYed in binary too, written by :func:`~loom_dagster.landing.pgbinary.binary_copy`
a column at a time; a chunk holds one kind or the other. While
every row is new, a frame is COPYed straight into the table in a savepoint, and
its rows counted from the frame: the staging table and its INSERT would cost
PostgreSQL about as much again. A unique violation rolls the COPY back and the
frame goes the staging way, with ``ON CONFLICT DO NOTHING``, like the rest of
the run.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Sequence
from datetime import date
from types import TracebackType
from typing import Self

import polars as pl
import psycopg
from psycopg import sql

from loom_dagster.landing.pgbinary import binary_copy
from loom_dagster.landing.ranges import OffsetRange
from loom_dagster.landing.rows import Layout, Row
from loom_dagster.landing.store import RangeOutcome

STAGING = "loom_landing_staging"
CHUNK_ROWS = 10_000
CHUNK_BYTES = 32 << 20  # media rows are large: a chunk also ends at 32 MiB
_DONE = None
Chunk = list[Row] | pl.DataFrame

# Which range (by index), UTC day and device each row belongs to: the ranges are
# passed as four arrays (index, partition, start, end).
_RANGES = (
    " JOIN unnest(%s::int[], %s::int[], %s::bigint[], %s::bigint[]) AS r(n, p, s, e)"
    " ON x.kafka_partition = r.p AND x.kafka_offset >= r.s AND x.kafka_offset < r.e"
)
_COUNT = "SELECT r.n, (x.time AT TIME ZONE 'UTC')::date, x.device_id, count(*)"


def _statements(table: str, columns: list[str]) -> dict[str, sql.Composed]:
    """Return the SQL of one chunk: stage, insert, count what was inserted."""
    names = {
        "table": sql.Identifier(table),
        "cols": sql.SQL(", ").join(map(sql.Identifier, columns)),
        "staging": sql.Identifier(STAGING),
    }
    insert_new = "INSERT INTO {table} ({cols}) SELECT {cols} FROM {staging}"
    insert = insert_new + " ON CONFLICT DO NOTHING"
    return {
        "create": sql.SQL(
            "CREATE TEMP TABLE {staging} ON COMMIT DROP AS"
            " SELECT {cols} FROM {table} WITH NO DATA"
        ).format(**names),
        "copy": sql.SQL("COPY {staging} ({cols}) FROM STDIN (FORMAT BINARY)").format(
            **names
        ),
        "copy_table": sql.SQL(
            "COPY {table} ({cols}) FROM STDIN (FORMAT BINARY)"
        ).format(**names),
        # Every staged row is new (the common case): insert, count the staging table.
        "insert_new": sql.SQL(insert_new).format(**names),
        "count_staged": sql.SQL(
            _COUNT + " FROM {staging} x" + _RANGES + " GROUP BY 1, 2, 3"
        ).format(**names),
        # Some were already there: count exactly what the insert returns.
        "insert_counting": sql.SQL(
            "WITH x AS ("
            + insert
            + " RETURNING time, device_id, kafka_partition, kafka_offset) "
            + _COUNT
            + " FROM x"
            + _RANGES
            + " GROUP BY 1, 2, 3"
        ).format(**names),
        "truncate": sql.SQL("TRUNCATE {staging}").format(**names),
    }


def _counts(
    frame: pl.DataFrame, ranges: Sequence[OffsetRange]
) -> list[tuple[int, date, str, int]]:
    """Count a frame's rows by range index, UTC day and device, as SQL would."""
    counts = []
    for n, r in enumerate(ranges):
        mine = frame.filter(
            (pl.col("kafka_partition") == r.partition)
            & pl.col("kafka_offset").is_between(r.start, r.end, closed="left")
        )
        by_day = mine.group_by(pl.col("time").dt.date(), "device_id").len()
        counts += [(n, day, device, rows) for day, device, rows in by_day.iter_rows()]
    return counts


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
    chunk_rows, chunk_bytes
        A COPY + INSERT round takes this many rows, or rows of about this many
        bytes (as the caller measures them), whichever comes first.
    """

    def __init__(
        self,
        conn: psycopg.Connection,
        table: str,
        layout: Layout,
        outcomes: Sequence[RangeOutcome],
        *,
        chunk_rows: int = CHUNK_ROWS,
        chunk_bytes: int = CHUNK_BYTES,
    ) -> None:
        self.conn = conn
        self.table = table
        self.layout = layout
        self.outcomes = outcomes
        self.chunk_rows = chunk_rows
        self.chunk_bytes = chunk_bytes
        self._buffer: list[Row] = []
        self._buffered_bytes = 0
        self._frames: list[pl.DataFrame] = []
        self._framed_rows = 0
        self._queue: queue.Queue[Chunk | None] = queue.Queue(maxsize=2)
        self._error: BaseException | None = None
        self._all_new = True  # until a chunk meets a row that is already there
        self._thread = threading.Thread(
            target=self._run, name=f"upsert-{table}", daemon=True
        )
        self._sql = _statements(table, layout.columns)
        ranges = [o.offset_range for o in outcomes]
        self._ranges = (
            list(range(len(ranges))),
            [r.partition for r in ranges],
            [r.start for r in ranges],
            [r.end for r in ranges],
        )

    def __enter__(self) -> Self:
        self.conn.execute(self._sql["create"])
        self._thread.start()
        return self

    def write(self, row: Row, size: int = 0) -> None:
        """Add one row of about ``size`` bytes; a full chunk goes to the writer."""
        self._buffer.append(row)
        self._buffered_bytes += size
        if (
            len(self._buffer) >= self.chunk_rows
            or self._buffered_bytes >= self.chunk_bytes
        ):
            self._hand_over()

    def write_frame(self, frame: pl.DataFrame) -> None:
        """Add the rows of ``frame`` (the layout's columns, in order and type)."""
        self._frames.append(frame)
        self._framed_rows += frame.height
        if self._framed_rows >= self.chunk_rows:
            self._hand_over_frames()

    def _hand_over(self) -> None:
        self._put(self._buffer)
        self._buffer = []
        self._buffered_bytes = 0

    def _hand_over_frames(self) -> None:
        self._put(pl.concat(self._frames))
        self._frames = []
        self._framed_rows = 0

    def _put(self, chunk: Chunk) -> None:
        if self._error is not None:
            raise self._error
        self._queue.put(chunk)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None and self._buffer:
            self._hand_over()
        if exc_type is None and self._frames:
            self._hand_over_frames()
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

    def _merge(self, chunk: Chunk) -> None:
        with self.conn.cursor() as cur:
            if isinstance(chunk, pl.DataFrame):
                if self._all_new and self._copy_new(cur, chunk):
                    return
                with cur.copy(self._sql["copy"]) as copy:
                    copy.write(binary_copy(chunk, self.layout.types))
            else:
                with cur.copy(self._sql["copy"]) as copy:
                    copy.set_types(self.layout.types)
                    for row in chunk:
                        copy.write_row(row)
            counts = self._insert_new(cur) if self._all_new else None
            if counts is None:
                counts = cur.execute(
                    self._sql["insert_counting"], self._ranges
                ).fetchall()
            self._count(counts)
            cur.execute(self._sql["truncate"])

    def _count(self, counts: list[tuple]) -> None:
        """Add ``(range index, day, device, rows)`` to the ranges' outcomes."""
        for n, day, device, count in counts:
            self.outcomes[n].rows_inserted += count
            self.outcomes[n].touched.add((day.isoformat(), device))

    def _copy_new(self, cur: psycopg.Cursor, frame: pl.DataFrame) -> bool:
        """COPY ``frame`` straight into the table if none of its rows is there yet.

        The staging table and the INSERT that follows it cost PostgreSQL about
        as much again as the COPY; when every row is new (the common case) the
        COPY alone does what ``INSERT ... ON CONFLICT DO NOTHING`` would, and the
        rows are counted from the frame. Returns False, having inserted nothing,
        when one of them is already there (or twice in the frame).
        """
        try:
            with self.conn.transaction(), cur.copy(self._sql["copy_table"]) as copy:
                copy.write(binary_copy(frame, self.layout.types))
        except psycopg.errors.UniqueViolation:
            self._all_new = False  # a replay: the rest takes ON CONFLICT
            return False
        self._count(_counts(frame, [o.offset_range for o in self.outcomes]))
        return True

    def _insert_new(self, cur: psycopg.Cursor) -> list[tuple] | None:
        """Insert the staged rows if none is in the table yet; count them by range.

        Returns None, having inserted nothing, when one of them is already there.
        """
        try:
            with self.conn.transaction():
                cur.execute(self._sql["insert_new"])
        except psycopg.errors.UniqueViolation:
            # A replay: the rest of this run goes straight to ON CONFLICT.
            self._all_new = False
            return None
        return cur.execute(self._sql["count_staged"], self._ranges).fetchall()
