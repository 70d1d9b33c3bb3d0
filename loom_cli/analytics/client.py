"""Run one statement through Trino and turn every failure into one line.

The HTTP client connects within 5 s and retries at most twice; Trino's own errors
keep their reason and, for syntax errors and unknown tables, the line and column in
the file (mapped back through the parameter binding).
"""

from __future__ import annotations

import contextlib
import re
import sys
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import IO, Any
from urllib.parse import urlsplit

import requests
import trino
from trino.exceptions import (
    DatabaseError,
    HttpError,
    OperationalError,
    TrinoQueryError,
    TrinoUserError,
)

from loom_cli.analytics.params import Bound
from loom_cli.errors import first_line
from loom_core.settings import EXTERNAL_TIMEOUT_S, LoomSettings

CONNECT_TIMEOUT_S = EXTERNAL_TIMEOUT_S
READ_TIMEOUT_S = 60.0  # one poll of a running query; Trino answers every ~1 s
MAX_ATTEMPTS = 3  # the first try and at most two retries
LOCATION_PREFIX = re.compile(r"^line \d+:\d+: ")


class SqlError(Exception):
    """A query that could not run, with a one-line reason and what to do."""


@dataclass(frozen=True)
class Column:
    """A result column: its name and Trino type."""

    name: str
    type: str


@dataclass(frozen=True)
class Result:
    """The columns and rows of a finished query."""

    columns: list[Column]
    rows: list[Sequence[Any]]


def connect(
    settings: LoomSettings, catalog: str = "timescale", schema: str = "public"
) -> trino.dbapi.Connection:
    """Return a DB-API connection to the stack's Trino (nothing is sent yet)."""
    url = urlsplit(settings.trino_url)
    return trino.dbapi.connect(
        host=url.hostname or "127.0.0.1",
        port=url.port or (443 if url.scheme == "https" else 8080),
        http_scheme=url.scheme or "http",
        user="loom",
        source="loom-sql",
        catalog=catalog,
        schema=schema,
        timezone="UTC",  # current_date and casts of dates mean UTC days
        request_timeout=(CONNECT_TIMEOUT_S, READ_TIMEOUT_S),
        max_attempts=MAX_ATTEMPTS,
    )


def describe_error(exc: Exception, bound: Bound, where: str, trino_url: str) -> str:
    """Return the one-line message for a failed query.

    Parameters
    ----------
    exc
        What the client raised.
    bound
        The statement that was sent, to map positions back to the file.
    where
        How to name the statement in the message (a file name or ``query``).
    trino_url
        Where Trino was expected, for the unreachable case.
    """
    if isinstance(exc, TrinoQueryError):
        reason = LOCATION_PREFIX.sub("", exc.message.strip().splitlines()[0])
        kind = (exc.error_name or "error").lower().replace("_", " ")
        location = exc.error_location
        if isinstance(exc, TrinoUserError) and location:
            line, column = bound.original_position(*location)
            return f"{kind} in {where} at line {line}, column {column}: {reason}"
        return f"{kind} in {where}: {reason}"
    if isinstance(exc, OperationalError | HttpError | requests.RequestException):
        detail = first_line(exc)
        if "Connection refused" in detail or "Failed to establish" in detail:
            detail = "connection refused"
        return (
            f"cannot reach Trino at {trino_url} ({detail[:200]}); start the local "
            "stack with `loom stack up` or point LOOM_TRINO_URL at a running Trino"
        )
    return f"Trino could not run {where}: {exc}"


def execute(
    conn: trino.dbapi.Connection,
    bound: Bound,
    where: str,
    trino_url: str,
    progress: IO[str] | None = None,
) -> Result:
    """Run ``bound`` and return every row.

    Parameters
    ----------
    progress
        A terminal to show the query's progress on while it runs (None: silent).

    Raises
    ------
    SqlError
        With a one-line message, whatever went wrong.
    """
    cursor = conn.cursor()
    ticker = Progress(cursor, progress) if progress is not None else None
    try:
        if ticker:
            ticker.start()
        cursor.execute(bound.text)
        rows = cursor.fetchall()
    # TrinoQueryError too: Trino's INTERNAL_ERROR and INSUFFICIENT_RESOURCES kinds
    # (no worker left, a worker gone mid-query) are neither user nor external errors.
    except (
        TrinoQueryError,
        DatabaseError,
        HttpError,
        requests.RequestException,
    ) as exc:
        raise SqlError(describe_error(exc, bound, where, trino_url)) from None
    except KeyboardInterrupt:
        _cancel(cursor)  # Ctrl-C stops the query in Trino too, not only here
        raise
    finally:
        if ticker:
            ticker.stop()
    columns = [Column(d[0], str(d[1])) for d in cursor.description or ()]
    return Result(columns, rows)


def _cancel(cursor: trino.dbapi.Cursor) -> None:
    # leaving anyway: if the cancel fails, Trino drops a query nobody polls
    with contextlib.suppress(DatabaseError, HttpError, requests.RequestException):
        cursor.cancel()


def progress_line(stats: dict[str, Any]) -> str:
    """Return the status line of a running query from the client's ``stats``."""
    state = str(stats.get("state", "QUEUED")).lower()
    elapsed = stats.get("elapsedTimeMillis", 0) / 1000
    rows = stats.get("processedRows", 0)
    done, total = stats.get("completedSplits", 0), stats.get("totalSplits", 0)
    share = f" {100 * done // total}%" if total else ""
    return f"{state}{share}, {rows:,} rows read, {elapsed:.1f} s"


class Progress:
    """Shows a running query's progress on a terminal, once it takes over 1 s."""

    interval_s = 0.5
    quiet_s = 1.0

    def __init__(self, cursor: trino.dbapi.Cursor, stream: IO[str]) -> None:
        self.cursor = cursor
        self.stream = stream
        self.done = threading.Event()
        self.shown = False
        self.thread = threading.Thread(target=self._run, daemon=True)

    @classmethod
    def for_stream(cls, stream: IO[str] = sys.stderr) -> IO[str] | None:
        """Return ``stream`` when it is a terminal (progress is for people)."""
        return stream if stream.isatty() else None

    def start(self) -> None:
        """Start showing progress in the background."""
        self.thread.start()

    def _run(self) -> None:
        if self.done.wait(self.quiet_s):
            return
        while not self.done.is_set():
            self.stream.write("\r\x1b[K" + progress_line(self.cursor.stats or {}))
            self.stream.flush()
            self.shown = True
            self.done.wait(self.interval_s)

    def stop(self) -> None:
        """Stop and clear the progress line."""
        self.done.set()
        self.thread.join()
        if self.shown:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
